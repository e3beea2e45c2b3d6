/**
 * `node --import tsx sandbox/demo/cli.ts seed --kubeconfig FILE`: seeds the demo samples with an admin
 * kubeconfig and prints them as JSON (`[{ name, watch, outcome }]`) for scripts/demo.mjs to show.
 */
import { parseArgs } from 'node:util';
import { kubeConfigFromFile } from '../../agent/kubernetes/kubeconfig';
import { seedDemo } from './seed';

const usage = 'usage: node --import tsx sandbox/demo/cli.ts seed --kubeconfig FILE';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { kubeconfig: { type: 'string' } },
  });
  if (positionals[0] !== 'seed' || positionals.length !== 1 || !values.kubeconfig) {
    console.error(usage);
    return 2;
  }
  const seeded = await seedDemo(kubeConfigFromFile(values.kubeconfig));
  console.log(JSON.stringify(seeded));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo seed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
