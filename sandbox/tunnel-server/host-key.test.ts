import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureKeyFile, generateChiselKey, loadHostKey, parseHostKey, randomHostKey } from './host-key';

// Written by `chisel server --keygen` (v1.11.3); that server printed this fingerprint for it.
const goKey =
  'ck-MHcCAQEEIN555Y3PBfExJU6NfV74FcwctbqnU4AFfCKKr93smSHioAoGCCqGSM49AwEHoUQDQgAECmBHWXZf/WXLvpQZuD3xtUZni8qTzzzBFmMbU4c8GxpMMp+wKl1ZtvuiFDfQEnsgmHLLHZpSd8K7VQQqR0gzUw';
const goFingerprint = 'wWZYGzr93vD2bhi5vearWOZQjvON5gC8mrQl2qeJ1Mc=';

describe('host keys', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tsrv-key-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives a chisel ck- key the fingerprint the Go server prints for it', () => {
    const key = parseHostKey(`${goKey}\n`);
    expect(key.type).toBe('ecdsa-sha2-nistp256');
    expect(key.fingerprint).toBe(goFingerprint);
    expect(key.fingerprint).toHaveLength(44);
  });

  it('gives the same key as SEC1 PEM and as PKCS#8 PEM the same fingerprint', () => {
    const pem = parseHostKey(goKey).privateKey;
    expect(pem).toContain('-----BEGIN EC PRIVATE KEY-----');
    expect(parseHostKey(pem).fingerprint).toBe(goFingerprint);
    const pkcs8 = createPrivateKey(pem).export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(pkcs8).toContain('-----BEGIN PRIVATE KEY-----');
    expect(parseHostKey(pkcs8).fingerprint).toBe(goFingerprint);
  });

  it('accepts OpenSSH ed25519 and PKCS#1 RSA keys', () => {
    const ed = ssh2.utils.generateKeyPairSync('ed25519');
    expect(parseHostKey(ed.private).type).toBe('ssh-ed25519');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkcs1 = rsa.privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    expect(parseHostKey(pkcs1).type).toBe('ssh-rsa');
  });

  it('generates ck- keys like --keygen: unpadded base64, a fresh P-256 key each time', () => {
    const key = generateChiselKey();
    expect(key).toMatch(/^ck-[A-Za-z0-9+/]+$/);
    expect(parseHostKey(key).type).toBe('ecdsa-sha2-nistp256');
    expect(randomHostKey().fingerprint).not.toBe(randomHostKey().fingerprint);
  });

  it('rejects bad keys with clear errors', () => {
    expect(() => parseHostKey('  ')).toThrow('invalid host key: empty');
    expect(() => parseHostKey('hello')).toThrow('expected "ck-…" or a PEM private key');
    expect(() => parseHostKey('ck-@@@')).toThrow('invalid chisel key: not base64');
    expect(() => parseHostKey('ck-AAAA')).toThrow(/^invalid chisel key: /);
    const publicPem = createPrivateKey(parseHostKey(goKey).privateKey)
      .export({ format: 'pem', type: 'sec1' })
      .toString()
      .replace(/EC PRIVATE KEY/g, 'PUBLIC KEY');
    expect(() => parseHostKey(publicPem)).toThrow(/^invalid host key: /);
  });

  it('loads a keyfile path or an inline ck- key, naming the file on errors', async () => {
    const file = path.join(dir, 'key');
    await writeFile(file, goKey);
    expect((await loadHostKey(file)).fingerprint).toBe(goFingerprint);
    expect((await loadHostKey(goKey)).fingerprint).toBe(goFingerprint);
    await expect(loadHostKey(path.join(dir, 'missing'))).rejects.toThrow(/^cannot read keyfile .*missing: ENOENT/);
    const bad = path.join(dir, 'bad');
    await writeFile(bad, 'nonsense');
    await expect(loadHostKey(bad)).rejects.toThrow(`${bad}: invalid host key`);
  });

  it('creates a missing keyfile once (0600) and keeps its fingerprint afterwards', async () => {
    const file = path.join(dir, 'stable');
    const first = await ensureKeyFile(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).startsWith('ck-')).toBe(true);
    expect((await ensureKeyFile(file)).fingerprint).toBe(first.fingerprint);
  });

  it("creates the keyfile's missing directories (0700), as on a fresh machine with no cache yet", async () => {
    const file = path.join(dir, 'fresh-cache', 'control-plane', 'tunnel-server.key');
    const key = await ensureKeyFile(file);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect((await ensureKeyFile(file)).fingerprint).toBe(key.fingerprint);
  });
});
