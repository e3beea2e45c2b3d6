/**
 * The server's SSH host key, interchangeable with chisel's (reference doc §1.5, §4.1): a `ck-` chisel
 * key (unpadded base64 of the SEC1 DER of an ECDSA P-256 key, what `chisel server --keygen` writes) or
 * any PEM/OpenSSH private key, so one keyfile serves both the Go server and this one with the same
 * fingerprint.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ssh2, { type ParsedKey } from 'ssh2';
import { fingerprintOf } from '../../agent/tunnel/chisel-wire';

export interface HostKey {
  /** A private key ssh2's Server accepts in `hostKeys`. */
  privateKey: string;
  /** SSH key type, e.g. `ecdsa-sha2-nistp256`. */
  type: string;
  /** chisel's fingerprint: base64(sha256(public key blob)). */
  fingerprint: string;
}

const chiselKeyPrefix = 'ck-';

/** Decodes a `ck-` key to a SEC1 PEM; Go writes it with RawStdEncoding (no padding). */
function chiselKeyToPem(text: string): string {
  const body = text.slice(chiselKeyPrefix.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new Error('invalid chisel key: not base64 after "ck-"');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(body, 'base64'), format: 'der', type: 'sec1' });
  } catch (err) {
    throw new Error(`invalid chisel key: ${err instanceof Error ? err.message : String(err)}`);
  }
  return key.export({ format: 'pem', type: 'sec1' }).toString();
}

/** Re-encodes PKCS#8 and similar PEMs Go accepts but ssh2's parser does not (EC → SEC1, RSA → PKCS#1). */
function reencodePem(text: string): string {
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (err) {
    throw new Error(`invalid host key: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (key.asymmetricKeyType === 'ec') return key.export({ format: 'pem', type: 'sec1' }).toString();
  if (key.asymmetricKeyType === 'rsa') return key.export({ format: 'pem', type: 'pkcs1' }).toString();
  throw new Error(`invalid host key: ${key.asymmetricKeyType ?? 'unknown'} keys must be in OpenSSH format`);
}

function describe(privateKey: string): HostKey | Error {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) return parsed;
  // ssh2 returns an array for multi-key OpenSSH files; chisel uses the first key.
  const key: ParsedKey | undefined = Array.isArray(parsed) ? (parsed as ParsedKey[])[0] : parsed;
  if (!key) return new Error('no key found');
  if (!key.isPrivateKey()) return new Error('not a private key');
  return { privateKey, type: key.type, fingerprint: fingerprintOf(key.getPublicSSH()) };
}

/** Parses a `ck-…` chisel key or a PEM/OpenSSH private key (surrounding whitespace ignored). */
export function parseHostKey(text: string): HostKey {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('invalid host key: empty');
  if (trimmed.startsWith(chiselKeyPrefix)) {
    const key = describe(chiselKeyToPem(trimmed));
    if (key instanceof Error) throw new Error(`invalid chisel key: ${key.message}`);
    return key;
  }
  if (!trimmed.startsWith('-----BEGIN ')) throw new Error('invalid host key: expected "ck-…" or a PEM private key');
  const direct = describe(trimmed);
  if (!(direct instanceof Error)) return direct;
  const reencoded = describe(reencodePem(trimmed));
  if (reencoded instanceof Error) throw new Error(`invalid host key: ${reencoded.message}`);
  return reencoded;
}

/** Like chisel's --keyfile: an inline `ck-…` key or the path of a key file. */
export async function loadHostKey(keyFile: string): Promise<HostKey> {
  if (keyFile.trim().startsWith(chiselKeyPrefix)) return parseHostKey(keyFile);
  let text: string;
  try {
    text = await readFile(keyFile, 'utf8');
  } catch (err) {
    throw new Error(`cannot read keyfile ${keyFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return parseHostKey(text);
  } catch (err) {
    throw new Error(`${keyFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A fresh chisel key (`ck-` + unpadded base64 SEC1 DER of a P-256 key), as `chisel server --keygen`. */
export function generateChiselKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const der = privateKey.export({ format: 'der', type: 'sec1' });
  return `${chiselKeyPrefix}${der.toString('base64').replace(/=+$/, '')}`;
}

/**
 * Loads the keyfile, creating it (mode 0600) first if missing, so the fingerprint survives restarts. Its
 * directory is created too (0700): on a fresh machine nothing else has made the cache directory yet.
 */
export async function ensureKeyFile(keyFile: string): Promise<HostKey> {
  await mkdir(path.dirname(keyFile), { recursive: true, mode: 0o700 });
  try {
    await writeFile(keyFile, generateChiselKey(), { flag: 'wx', mode: 0o600 });
    await chmod(keyFile, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return loadHostKey(keyFile);
}

/** A random key for one run, as chisel does without --key/--keyfile. */
export function randomHostKey(): HostKey {
  return parseHostKey(generateChiselKey());
}
