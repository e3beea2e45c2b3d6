import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserStore } from './user-store';

const hash = `scrypt$1024$8$1$${Buffer.alloc(16, 1).toString('base64')}$${Buffer.alloc(32, 2).toString('base64')}`;
const entry = (name: string, role: string): string =>
  `  - {username: ${name}, role: ${role}, password_hash: "${hash}"}\n`;

type LogSink = ConstructorParameters<typeof UserStore>[1];

function recordingLog(): LogSink & { lines: string[] } {
  const lines: string[] = [];
  const error = (_obj: object, msg: string): void => void lines.push(msg);
  return { lines, info: () => undefined, error: error as LogSink['error'] };
}

describe('UserStore', () => {
  let dir: string;
  let file: string;
  let tick = 1_700_000_000;

  // Explicit mtimes: two writes within the filesystem's timestamp granularity must still count as changes.
  function write(text: string): void {
    writeFileSync(file, text);
    tick += 10;
    utimesSync(file, tick, tick);
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'users-'));
    file = path.join(dir, 'users.yaml');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('re-reads the file when its mtime changes', () => {
    write(`users:\n${entry('alice', 'admin')}`);
    const store = new UserStore({ kind: 'file', path: file }, recordingLog());
    expect([...store.snapshot().users.keys()]).toEqual(['alice']);
    write(`users:\n${entry('alice', 'viewer')}${entry('bob', 'admin')}`);
    const snapshot = store.snapshot();
    expect(snapshot.users.get('alice')?.role).toBe('viewer');
    expect(snapshot.users.get('bob')?.role).toBe('admin');
    expect(snapshot.error).toBeUndefined();
  });

  it('keeps the last good users when the file breaks, logs once, and recovers', () => {
    write(`users:\n${entry('alice', 'admin')}`);
    const log = recordingLog();
    const store = new UserStore({ kind: 'file', path: file }, log);
    store.snapshot();
    write(`users:\n${entry('alice', 'root')}`);
    const broken = store.snapshot();
    store.snapshot();
    expect(broken.users.get('alice')?.role).toBe('admin');
    expect(broken.error).toBe(
      `dashboard users (file ${file}): users[0] "alice": role = "root" is invalid: must be viewer or admin`,
    );
    expect(log.lines).toEqual([`${broken.error}; keeping the last good users`]);
    write(`users:\n${entry('carol', 'viewer')}`);
    expect([...store.snapshot().users.keys()]).toEqual(['carol']);
    expect(store.snapshot().error).toBeUndefined();
  });

  it('starts with no users when the first file is broken or missing', () => {
    const missing = new UserStore({ kind: 'file', path: path.join(dir, 'nope.yaml') }, recordingLog());
    expect(missing.snapshot().users.size).toBe(0);
    expect(missing.snapshot().error).toMatch(/^dashboard users \(file .*nope\.yaml\): cannot read: ENOENT/);
    write('users: [');
    const log = recordingLog();
    const broken = new UserStore({ kind: 'file', path: file }, log);
    expect(broken.snapshot().users.size).toBe(0);
    expect(log.lines[0]).toMatch(/not valid YAML or JSON.*; nobody can sign in$/);
  });

  it('reads inline users once and reports when none are configured', () => {
    const inline = new UserStore({ kind: 'inline', text: `users:\n${entry('dave', 'viewer')}` }, recordingLog());
    expect(inline.snapshot().users.get('dave')?.role).toBe('viewer');
    expect(new UserStore({ kind: 'none' }, recordingLog()).snapshot().error).toMatch(/^no dashboard users configured/);
  });
});
