// First: one clear line and exit on an unsupported Node.js, before any dependency loads.
import '../agent/node-guard';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { down, status, up, validateNodeCount } from './cluster/cluster';
import { sandboxLayout } from './cluster/state';
import { binaryPaths } from './cluster/versions';

const usage = `usage: npm run sandbox -- <up|down|status|env> [--name NAME] [--nodes N] [--purge]

  up       build the binaries if needed, start the local cluster and wait until it is ready
  down     stop every sandbox process (--purge also deletes its certs and etcd data)
  status   show which sandbox processes run and whether the API server is ready
  env      print KUBECONFIG=… (and kubectl on PATH) for the shell: eval "$(npm run -s sandbox -- env)"`;

interface CliOptions {
  name?: string;
  nodes?: string;
  purge: boolean;
}

async function upCommand(options: CliOptions): Promise<number> {
  const nodes = options.nodes === undefined ? undefined : validateNodeCount(options.nodes);
  const info = await up({ name: options.name, nodes });
  console.log(`\nexport KUBECONFIG=${info.adminKubeconfig}`);
  console.log(`# agent identity (restricted ServiceAccount token): ${info.agentKubeconfig}`);
  return 0;
}

async function downCommand(options: CliOptions): Promise<number> {
  await down({ name: options.name, purge: options.purge });
  return 0;
}

async function statusCommand(options: CliOptions): Promise<number> {
  const current = await status(options.name);
  console.log(`sandbox ${current.name} (${current.dir})`);
  console.log(`  api server: ${current.apiServerUrl ?? '-'} ${current.apiServerReady ? 'ready' : 'not ready'}`);
  for (const c of current.components) {
    const detail = c.running ? `running  pid ${c.pid}  127.0.0.1:${c.port}` : 'stopped';
    console.log(`  ${c.name.padEnd(24)} ${detail}`);
  }
  return current.apiServerReady ? 0 : 3;
}

async function envCommand(options: CliOptions): Promise<number> {
  const layout = sandboxLayout(options.name);
  console.log(`export PATH=${path.dirname(binaryPaths().kubectl)}:$PATH`);
  console.log(`export KUBECONFIG=${layout.adminKubeconfig}`);
  console.log(`export PIPEOPS_SANDBOX_AGENT_KUBECONFIG=${layout.agentKubeconfig}`);
  return 0;
}

const commands: Record<string, (options: CliOptions) => Promise<number>> = {
  up: upCommand,
  down: downCommand,
  status: statusCommand,
  env: envCommand,
};

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      nodes: { type: 'string' },
      purge: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    console.log(usage);
    return values.help ? 0 : 2;
  }
  const run = commands[command];
  if (!run) {
    console.error(`unknown command "${command}" (allowed: ${Object.keys(commands).join(', ')})\n\n${usage}`);
    return 2;
  }
  return run(values);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`sandbox: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
