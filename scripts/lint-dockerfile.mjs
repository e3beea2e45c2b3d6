// @ts-check
// Lints the Dockerfile without a Docker engine (none runs here): the rules the image relies on, checked
// on the parsed instructions. `node scripts/lint-dockerfile.mjs [Dockerfile]` prints one line per problem
// and exits 1 when there is any. Part of `npm test`'s static checks.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chosenNodeVersion } from './lib/node-runtime.mjs';

/** @typedef {{ line: number, op: string, args: string }} Instruction */
/** @typedef {{ from: Instruction, image: string, name?: string, body: Instruction[] }} Stage */

/**
 * Joins continuation lines and drops comments; one entry per instruction.
 * @param {string} text
 * @returns {Instruction[]}
 */
export function parseDockerfile(text) {
  /** @type {Instruction[]} */
  const out = [];
  let buffer = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (!buffer && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (buffer && trimmed.startsWith('#')) return;
    if (!buffer) start = i + 1;
    buffer += `${trimmed.replace(/\\$/, '').trim()} `;
    if (trimmed.endsWith('\\')) return;
    const match = /^(\S+)\s*(.*)$/.exec(buffer.trim());
    if (match) out.push({ line: start, op: (match[1] ?? '').toUpperCase(), args: match[2] ?? '' });
    buffer = '';
  });
  return out;
}

/**
 * @param {Instruction[]} instructions
 * @returns {{ args: Map<string, string>, stages: Stage[] }}
 */
function splitStages(instructions) {
  /** @type {Map<string, string>} */
  const args = new Map();
  /** @type {Stage[]} */
  const stages = [];
  for (const ins of instructions) {
    if (ins.op === 'ARG' && stages.length === 0) {
      const [name, value = ''] = ins.args.split('=');
      args.set((name ?? '').trim(), value.trim());
    } else if (ins.op === 'FROM') {
      const [image = '', as, name] = ins.args.replace(/--platform=\S+\s*/, '').split(/\s+/);
      stages.push({ from: ins, image, name: as?.toUpperCase() === 'AS' ? name : undefined, body: [] });
    } else {
      stages.at(-1)?.body.push(ins);
    }
  }
  return { args, stages };
}

/** @param {string} image @param {Map<string, string>} args */
function resolveImage(image, args) {
  return image.replace(/\$\{?(\w+)\}?/g, (_, name) => args.get(name) ?? '');
}

// Exact release tag (e.g. 24.11.1 or 24.11.1-bookworm-slim), optionally with a digest; never latest or a
// floating major. A digest alone also counts as pinned.
const pinnedImage = /^[\w./-]+(:\d+\.\d+\.\d+(-[\w.-]+)?)(@sha256:[0-9a-f]{64})?$|^[\w./-]+@sha256:[0-9a-f]{64}$/;
const secretName = /(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIAL)/i;

/**
 * Every stage runs the Node.js the tests run on: an official `node` image tagged with the release in
 * `.node-version` (e.g. `node:24.22.3-bookworm-slim`).
 * @param {string} image resolved base image
 * @param {string} nodeVersion
 * @returns {boolean}
 */
function usesNodeVersion(image, nodeVersion) {
  const tag = /^(?:docker\.io\/)?(?:library\/)?node:([^@]+)/.exec(image)?.[1];
  return tag === nodeVersion || tag?.startsWith(`${nodeVersion}-`) === true;
}

/** @param {Stage[]} stages @param {Map<string, string>} args @param {string} nodeVersion @param {string[]} problems */
function checkBases(stages, args, nodeVersion, problems) {
  if (stages.length < 2) problems.push('multi-stage build expected: a build stage and a runtime stage');
  const names = new Set(stages.map((s) => s.name).filter(Boolean));
  for (const stage of stages) {
    if (names.has(stage.image)) continue;
    const image = resolveImage(stage.image, args);
    if (!pinnedImage.test(image)) {
      problems.push(
        `line ${stage.from.line}: base image "${image}" is not pinned to an exact version (x.y.z tag or @sha256 digest)`,
      );
    }
    if (!usesNodeVersion(image, nodeVersion)) {
      problems.push(
        `line ${stage.from.line}: base image "${image}" must be node:${nodeVersion}[-variant], the Node.js of .node-version that the tests run on`,
      );
    }
  }
}

/** @param {Instruction[]} all @param {string[]} problems */
function checkInstructions(all, problems) {
  for (const ins of all) {
    if (ins.op === 'ADD')
      problems.push(`line ${ins.line}: ADD is not allowed (no remote URLs or auto-extraction); use COPY`);
    if ((ins.op === 'ENV' || ins.op === 'ARG') && secretName.test(ins.args.split(/[=\s]/)[0] ?? '')) {
      problems.push(
        `line ${ins.line}: ${ins.op} ${ins.args.split(/[=\s]/)[0]} looks like a secret; secrets come from the Kubernetes Secret at run time`,
      );
    }
    if (ins.op === 'RUN' && /\b(curl|wget)\b[^|]*\|\s*(ba)?sh/.test(ins.args)) {
      problems.push(`line ${ins.line}: RUN pipes a download into a shell`);
    }
    if (ins.op === 'COPY' && /(^|\s)\.env\b|\.pem\b|kubeconfig/.test(ins.args)) {
      problems.push(`line ${ins.line}: COPY of a secret-looking file`);
    }
  }
}

/** @param {Instruction[]} body @param {string} op */
const last = (body, op) => body.filter((i) => i.op === op).at(-1);

/** @param {Stage} final @param {string[]} problems */
function checkUser(final, problems) {
  const user = last(final.body, 'USER');
  const match = user && /^(\d+)(:(\d+))?$/.exec(user.args.trim());
  if (!match)
    problems.push('runtime stage: USER must be a numeric non-root uid[:gid] (runAsNonRoot can only verify numbers)');
  else if (match[1] === '0' || match[3] === '0') problems.push(`line ${user?.line}: USER ${user?.args} runs as root`);
}

/** @param {Stage} final @param {string[]} problems */
function checkRuntimeFiles(final, problems) {
  const copies = final.body.filter((i) => i.op === 'COPY');
  if (copies.length === 0) problems.push('runtime stage: copies nothing');
  for (const copy of copies) {
    const from = /--from=(\S+)/.exec(copy.args)?.[1];
    const sources = copy.args
      .replace(/--\S+\s*/g, '')
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, -1);
    if (!from)
      problems.push(
        `line ${copy.line}: the runtime stage copies from the build context; copy only the standalone output from the build stage`,
      );
    for (const source of sources) {
      if (!/\/\.next\/standalone\/?/.test(source))
        problems.push(`line ${copy.line}: "${source}" is not part of the standalone output`);
    }
  }
}

/** @param {Stage} final @param {string[]} problems */
function checkRuntimeEnv(final, problems) {
  const env = final.body
    .filter((i) => i.op === 'ENV')
    .map((i) => i.args)
    .join(' ');
  if (!/\bHOSTNAME=0\.0\.0\.0\b/.test(env)) {
    problems.push(
      'runtime stage: ENV HOSTNAME=0.0.0.0 missing (Kubernetes sets HOSTNAME to the pod name and server.js binds to it)',
    );
  }
  if (!/\bNEXT_MANUAL_SIG_HANDLE=(1|true)\b/.test(env)) {
    problems.push(
      'runtime stage: ENV NEXT_MANUAL_SIG_HANDLE=1 missing (the runtime shuts down itself: Lease release, SSE drain)',
    );
  }
  const workdir = last(final.body, 'WORKDIR')?.args.trim();
  const cmd = last(final.body, 'CMD')?.args.trim();
  if (cmd !== '["node", "server.js"]' || workdir !== '/app') {
    problems.push(
      `runtime stage: expected WORKDIR /app and CMD ["node", "server.js"] (the standalone server), got WORKDIR ${workdir} CMD ${cmd}`,
    );
  }
  if (!last(final.body, 'HEALTHCHECK') || !/\/health\b/.test(last(final.body, 'HEALTHCHECK')?.args ?? '')) {
    problems.push(
      'runtime stage: HEALTHCHECK on /health missing (Kubernetes uses the chart probes; docker run uses this)',
    );
  }
}

/** @param {string | undefined} text @param {string[]} problems */
function checkDockerignore(text, problems) {
  if (text === undefined) {
    problems.push('.dockerignore is missing');
    return;
  }
  const entries = new Set(text.split('\n').map((l) => l.trim()));
  for (const needed of ['.git', 'node_modules', '.next', '.env', '.env.*']) {
    if (!entries.has(needed)) problems.push(`.dockerignore: "${needed}" must be excluded from the build context`);
  }
}

/**
 * @param {string} dockerfile
 * @param {string} [dockerignore] undefined when the file does not exist
 * @param {string} [nodeVersion] the release every stage must use; default `.node-version`
 * @returns {string[]} problems, empty when the Dockerfile follows every rule
 */
export function lintDockerfile(dockerfile, dockerignore, nodeVersion = chosenNodeVersion()) {
  /** @type {string[]} */
  const problems = [];
  const instructions = parseDockerfile(dockerfile);
  const { args, stages } = splitStages(instructions);
  const final = stages.at(-1);
  if (!final) return ['no FROM instruction'];
  checkBases(stages, args, nodeVersion, problems);
  checkInstructions(instructions, problems);
  checkUser(final, problems);
  checkRuntimeFiles(final, problems);
  checkRuntimeEnv(final, problems);
  checkDockerignore(dockerignore, problems);
  return problems;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = path.resolve(process.argv[2] ?? 'Dockerfile');
  const ignore = path.join(path.dirname(file), '.dockerignore');
  const problems = lintDockerfile(
    readFileSync(file, 'utf8'),
    existsSync(ignore) ? readFileSync(ignore, 'utf8') : undefined,
  );
  for (const problem of problems) console.error(`${path.relative(process.cwd(), file)}: ${problem}`);
  console.log(problems.length === 0 ? `${path.relative(process.cwd(), file)}: ok` : `${problems.length} problem(s)`);
  process.exit(problems.length === 0 ? 0 : 1);
}
