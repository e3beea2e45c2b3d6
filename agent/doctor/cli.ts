// `npm run doctor [-- --fix] [--agent-id ID] [--control-plane] [--config FILE]`, and inside the image
// `node tools/doctor.cjs` (the same code, bundled by scripts/build-doctor.mjs). Reads the agent's own
// configuration (env and optional YAML) so it checks exactly what the agent uses.
// First: one clear line and exit on an unsupported Node.js, before any dependency loads.
import '../node-guard';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../config/load';
import { loadKubeConfig } from '../kubernetes/kubeconfig';
import { runDoctor } from './doctor';
import { formatLines, summarize } from './report';

const usage = `usage: doctor [--fix] [--agent-id ID] [--control-plane] [--config FILE]
  Diagnoses an installed agent: API access, RBAC (SelfSubjectAccessReview), the state ConfigMap,
  the leader Lease, re-registration loops and, with --control-plane, the identity the control plane knows.
  --fix            create a missing state ConfigMap (never overwrites an existing one)
  --agent-id ID    the agent_id --fix writes (default: a new agent-<uuid>)
  --control-plane  POST the idempotent register with the stored ids and compare cluster_id
                   (needs PIPEOPS_API_URL, PIPEOPS_TOKEN, PIPEOPS_CLUSTER_NAME; counts as a registration)
  Exit code: 0 no failures, 1 at least one FAIL, 2 bad usage or configuration.`;

const argsSchema = z.strictObject({
  fix: z.boolean().default(false),
  'agent-id': z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: 'must be letters, digits, ".", "_" and "-"' })
    .optional(),
  'control-plane': z.boolean().default(false),
  config: z.string().min(1).optional(),
  help: z.boolean().default(false),
});

function parse(argv: string[]): z.output<typeof argsSchema> {
  const { values } = parseArgs({
    args: argv,
    options: {
      fix: { type: 'boolean' },
      'agent-id': { type: 'string' },
      'control-plane': { type: 'boolean' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`doctor: --${String(issue?.path[0])}: ${issue?.message}`);
  }
  return parsed.data;
}

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parse(argv);
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (args.help) {
    console.log(usage);
    return 0;
  }
  let config;
  let kc;
  try {
    config = loadConfig({ configFile: args.config });
    kc = loadKubeConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 2;
  }
  const lines = await runDoctor(kc, {
    config,
    fix: args.fix,
    agentId: args['agent-id'],
    controlPlane: args['control-plane'],
  });
  const summary = summarize(lines);
  console.log(`${formatLines(lines)}\n${summary.text}`);
  return summary.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`doctor: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
