import packageJson from '../package.json' with { type: 'json' };

/** A Node.js release as three numbers. */
type Release = readonly [major: number, minor: number, patch: number];

/**
 * The supported Node.js line, read from package.json `engines.node` (a caret range like `^24.11.0`, the
 * one place it is written; scripts/lib/node-runtime.mjs reads the same field).
 */
export const supportedNodeRange: string = packageJson.engines.node;

function parseRelease(version: string): Release | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version.trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

/**
 * Why `version` (like `process.version`) cannot run the agent, as one line; undefined when it can.
 * @throws when engines.node is not a caret range, so a malformed package.json fails loudly.
 */
export function nodeSupportProblem(version: string, range: string = supportedNodeRange): string | undefined {
  const minimum = /^\^/.test(range) ? parseRelease(range.slice(1)) : undefined;
  if (!minimum) throw new Error(`package.json engines.node must be a caret range like "^24.11.0", got "${range}"`);
  const running = parseRelease(version);
  const [major, minor, patch] = running ?? [0, 0, 0];
  const [minMajor, minMinor, minPatch] = minimum;
  const supported = major === minMajor && (minor > minMinor || (minor === minMinor && patch >= minPatch));
  if (supported) return undefined;
  return (
    `pipeops-agent needs Node.js ${range} (the ${minMajor}.x LTS line), but runs on ${version}; ` +
    `install Node.js ${minMajor} or use \`npm run demo\` / \`npm test\`, which fetch it`
  );
}

/** Stops the process with one line on stderr when the running Node.js is not supported. */
export function exitOnUnsupportedNode(version: string = process.version): void {
  const problem = nodeSupportProblem(version);
  if (problem === undefined) return;
  console.error(problem);
  process.exit(1);
}
