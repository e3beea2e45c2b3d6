import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lintDockerfile } from './lint-dockerfile.mjs';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const dockerignore = readFileSync('.dockerignore', 'utf8');

describe('Dockerfile lint (no Docker engine needed)', () => {
  it('accepts the repository Dockerfile', () => {
    expect(lintDockerfile(dockerfile, dockerignore)).toEqual([]);
  });

  it.each([
    [
      'a floating base image',
      (d: string) => d.replace('node:24.22.3-bookworm-slim', 'node:lts-slim'),
      'is not pinned to an exact version',
    ],
    [
      'another Node.js release than .node-version',
      (d: string) => d.replace('node:24.22.3-bookworm-slim', 'node:26.12.1-bookworm-slim'),
      'must be node:24.22.3[-variant], the Node.js of .node-version',
    ],
    [
      'a base image without Node.js',
      (d: string) => d.replace('node:24.22.3-bookworm-slim', 'debian:12.8-slim'),
      'base image "debian:12.8-slim" must be node:24.22.3',
    ],
    ['a root user', (d: string) => d.replace('USER 65532:65532', 'USER 0'), 'runs as root'],
    ['a named user', (d: string) => d.replace('USER 65532:65532', 'USER node'), 'USER must be a numeric non-root uid'],
    [
      'ADD of a URL',
      (d: string) => d.replace('WORKDIR /src', 'WORKDIR /src\nADD https://example.com/x.tgz /x'),
      'ADD is not allowed',
    ],
    [
      'a baked-in secret',
      (d: string) => d.replace('ENV NODE_ENV=production', 'ENV PIPEOPS_TOKEN=abc NODE_ENV=production'),
      'PIPEOPS_TOKEN looks like a secret',
    ],
    [
      'the whole build copied',
      (d: string) => d.replace('/src/.next/standalone ./', '/src ./'),
      '"/src" is not part of the standalone output',
    ],
    [
      'no HOSTNAME override',
      (d: string) => d.replace('HOSTNAME=0.0.0.0', 'HOST=0.0.0.0'),
      'ENV HOSTNAME=0.0.0.0 missing',
    ],
    [
      'next start instead of the standalone server',
      (d: string) => d.replace('CMD ["node", "server.js"]', 'CMD ["npm", "start"]'),
      'CMD ["node", "server.js"]',
    ],
    ['no HEALTHCHECK', (d: string) => d.replace(/HEALTHCHECK[^\n]*\\\n[^\n]*\n/, ''), 'HEALTHCHECK on /health missing'],
  ])('rejects %s', (_name, mutate, message) => {
    expect(lintDockerfile(mutate(dockerfile), dockerignore).join('\n')).toContain(message);
  });

  it('takes the Node.js release from .node-version (one source of truth for the tests and the image)', () => {
    const nodeVersion = readFileSync('.node-version', 'utf8').trim();
    expect(dockerfile).toContain(`ARG NODE_IMAGE=node:${nodeVersion}-`);
    expect(lintDockerfile(dockerfile, dockerignore, '24.99.0').join('\n')).toContain('must be node:24.99.0');
  });

  it('requires a .dockerignore that keeps secrets and local builds out of the context', () => {
    expect(lintDockerfile(dockerfile, undefined)).toEqual(['.dockerignore is missing']);
    expect(lintDockerfile(dockerfile, 'node_modules\n.next\n.git\n')).toContain(
      '.dockerignore: ".env" must be excluded from the build context',
    );
  });
});
