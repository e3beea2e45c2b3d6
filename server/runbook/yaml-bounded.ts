import 'server-only';
import { Worker } from 'node:worker_threads';
import { RunbookError } from './errors';

/**
 * Untrusted YAML is parsed off the event loop: in a worker thread with a wall-clock limit and a heap
 * cap, after cheap linear pre-checks of the raw text. Whatever the input, the main thread (and so
 * /health, the control link and the tunnel) keeps running; a parse that takes too long is terminated.
 */
export interface YamlLimits {
  maxBytes: number;
  maxDocuments: number;
  /** Explicit tags (`!foo`), aliases (`*a`) and anchors (`&a`): a backup uses none of them. */
  maxTags: number;
  maxAliases: number;
  maxAnchors: number;
  /** Size of the parsed result as JSON: an alias bomb expands far beyond its text. */
  maxExpandedBytes: number;
  timeoutMs: number;
  heapMb: number;
}

export const restoreYamlLimits: YamlLimits = {
  maxBytes: 1024 * 1024,
  maxDocuments: 200,
  maxTags: 100,
  maxAliases: 100,
  maxAnchors: 100,
  maxExpandedBytes: 4 * 1024 * 1024,
  timeoutMs: 2_000,
  heapMb: 96,
};

/** One YAML document as the worker returns it: its value, or the first syntax error. */
export type ParsedDocument = { value: unknown } | { error: string };

// Over-counts (a `!` or `*` after a space inside a quoted string counts too), so these text limits are
// ten times the exact ones the worker applies to the parsed document tree.
const textPatterns = {
  tags: /(?:^|[\s[{,])!/g,
  aliases: /(?:^|[\s[{,])\*/g,
  anchors: /(?:^|[\s[{,])&/g,
  documents: /^---/gm,
};

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

function tooLarge(bytes: number, limit: number): RunbookError {
  const mib = (n: number): string => (n / 1024 / 1024).toFixed(2);
  return new RunbookError(413, `the backup is ${mib(bytes)} MiB; the limit is ${limit / 1024 / 1024} MiB`);
}

/** Linear checks on the raw text, before any parser sees it. */
export function precheckYaml(text: string, limits: YamlLimits = restoreYamlLimits): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) throw tooLarge(bytes, limits.maxBytes);
  const documents = count(text, textPatterns.documents) + 1;
  if (documents > limits.maxDocuments + 1)
    throw new RunbookError(400, `the backup has ${documents} documents; the limit is ${limits.maxDocuments}`);
  const checks: [string, number, number][] = [
    ['tags (!…)', count(text, textPatterns.tags), limits.maxTags * 10],
    ['aliases (*…)', count(text, textPatterns.aliases), limits.maxAliases * 10],
    ['anchors (&…)', count(text, textPatterns.anchors), limits.maxAnchors * 10],
  ];
  for (const [what, found, limit] of checks) {
    if (found > limit)
      throw new RunbookError(400, `the backup has ${found} YAML ${what}; a backup uses none, the limit is ${limit}`);
  }
}

// Plain CommonJS for `eval: true`: no bundler has to know about a worker file. `yaml` is resolved from
// the working directory (the standalone server chdirs to its own folder, where node_modules is traced).
const workerSource = String.raw`
const { parentPort } = require('node:worker_threads');
const { createRequire } = require('node:module');
const path = require('node:path');
const YAML = createRequire(path.join(process.cwd(), 'yaml-worker.cjs'))('yaml');
parentPort.once('message', ({ text, limits }) => {
  try {
    const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [];
    if (list.length > limits.maxDocuments) {
      parentPort.postMessage({ refused: 'the backup has ' + list.length + ' documents; the limit is ' + limits.maxDocuments });
      return;
    }
    let tags = 0, aliases = 0, anchors = 0;
    for (const doc of list) {
      YAML.visit(doc, {
        Alias() { aliases++; },
        Node(_, node) { if (node.tag) tags++; if (node.anchor) anchors++; },
      });
    }
    const over = [['tags', tags, limits.maxTags], ['aliases', aliases, limits.maxAliases], ['anchors', anchors, limits.maxAnchors]]
      .find(([, n, max]) => n > max);
    if (over) {
      parentPort.postMessage({ refused: 'the backup has ' + over[1] + ' YAML ' + over[0] + '; a backup uses none, the limit is ' + over[2] });
      return;
    }
    const documents = list.map((doc) => {
      const error = doc.errors[0];
      if (error) return { error: 'invalid YAML: ' + String(error.message.split('\n')[0]).replace(/:$/, '') };
      try {
        return { value: doc.toJS({ maxAliasCount: limits.maxAliases }) };
      } catch (e) {
        return { error: 'invalid YAML: ' + e.message };
      }
    });
    const expanded = Buffer.byteLength(JSON.stringify(documents));
    if (expanded > limits.maxExpandedBytes) {
      parentPort.postMessage({ refused: 'the backup expands to ' + (expanded / 1048576).toFixed(1) + ' MiB when parsed; the limit is ' + (limits.maxExpandedBytes / 1048576) + ' MiB' });
      return;
    }
    parentPort.postMessage({ documents });
  } catch (e) {
    parentPort.postMessage({ refused: 'the backup could not be parsed: ' + e.message });
  }
});
parentPort.postMessage({ ready: true });
`;

type WorkerReply = { documents: ParsedDocument[] } | { refused: string };

// Starting a worker and loading the parser is not the input's fault: the time limit starts after it.
const startupTimeoutMs = 15_000;

function runWorker(text: string, limits: YamlLimits): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerSource, {
      eval: true,
      resourceLimits: { maxOldGenerationSizeMb: limits.heapMb, maxYoungGenerationSizeMb: 16 },
    });
    let settled = false;
    let timer = setTimeout(() => {
      finish(() => reject(new RunbookError(502, 'the YAML parser did not start; try again')));
    }, startupTimeoutMs);
    function finish(outcome: () => void): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
      void worker.terminate();
    }
    worker.on('message', (reply: WorkerReply | { ready: true }) => {
      if (!('ready' in reply)) {
        finish(() => resolve(reply));
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(() => {
        const seconds = limits.timeoutMs / 1000;
        finish(() =>
          reject(
            new RunbookError(
              400,
              `the backup took longer than ${seconds} s to parse; it is not a backup this agent wrote`,
            ),
          ),
        );
      }, limits.timeoutMs);
      worker.postMessage({ text, limits });
    });
    worker.once('error', (error: Error & { code?: string }) => {
      const why =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'needs more memory to parse than allowed' : 'could not be parsed';
      finish(() => reject(new RunbookError(400, `the backup ${why}; it is not a backup this agent wrote`)));
    });
    worker.once('exit', () => finish(() => reject(new RunbookError(400, 'the backup could not be parsed'))));
  });
}

// One parse at a time (the machine may have two cores); a few wait, more are turned away.
const maxWaiting = 4;
let active: Promise<unknown> = Promise.resolve();
let waiting = 0;

/** Parses every document of untrusted YAML within the limits; refusals are RunbookErrors (400/413). */
export async function parseYamlBounded(
  text: string,
  limits: YamlLimits = restoreYamlLimits,
): Promise<ParsedDocument[]> {
  precheckYaml(text, limits);
  if (waiting >= maxWaiting)
    throw new RunbookError(409, 'another restore is being parsed; try again in a moment', 'conflict');
  waiting += 1;
  const turn = active.then(
    () => runWorker(text, limits),
    () => runWorker(text, limits),
  );
  active = turn.catch(() => undefined);
  try {
    const reply = await turn;
    if ('refused' in reply) throw new RunbookError(400, reply.refused);
    return reply.documents;
  } finally {
    waiting -= 1;
  }
}
