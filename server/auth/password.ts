// No `server-only` marker: the hash-password CLI runs this module under plain Node, where the marker throws.
import { randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

export interface PasswordHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

/** OWASP's scrypt floor is N=2^17 with r=8; 2^15 keeps a login under ~100 ms on a small pod's core. */
export const defaultScryptParams: ScryptParams = { N: 32_768, r: 8, p: 1 };

export const passwordHashFormat = 'scrypt$N$r$p$<salt base64>$<hash base64>';

const saltBytes = 16;
const keyBytes = 32;
const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
const positiveInt = /^[1-9]\d{0,7}$/;

function scryptOptions(params: ScryptParams): ScryptOptions {
  // maxmem must exceed 128·N·r or Node refuses the parameters.
  return { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r };
}

function scryptAsync(password: string, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
  const options = scryptOptions(params);
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Bounds keep a hostile users file from making every login allocate gigabytes. */
export function validScryptParams(params: ScryptParams): boolean {
  const { N, r, p } = params;
  const powerOfTwo = N >= 2 && (N & (N - 1)) === 0;
  return powerOfTwo && N <= 2 ** 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16 && 128 * N * r <= 256 * 1024 * 1024;
}

function decodeBase64(text: string): Buffer | undefined {
  return base64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** Parses `scrypt$N$r$p$<salt>$<hash>`; undefined when the string is not in that form or its costs are out of range. */
export function parsePasswordHash(text: string): PasswordHash | undefined {
  const parts = text.trim().split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, n, r, p, saltText, hashText] = parts as [string, string, string, string, string, string];
  if (![n, r, p].every((part) => positiveInt.test(part))) return undefined;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  const salt = decodeBase64(saltText);
  const hash = decodeBase64(hashText);
  if (!validScryptParams(params) || !salt || !hash) return undefined;
  if (salt.length < 8 || hash.length < 16 || hash.length > 128) return undefined;
  return { ...params, salt, hash };
}

export function formatPasswordHash(value: PasswordHash): string {
  return ['scrypt', value.N, value.r, value.p, value.salt.toString('base64'), value.hash.toString('base64')].join('$');
}

/** A new self-describing hash with a random salt. */
export async function hashPassword(password: string, params: ScryptParams = defaultScryptParams): Promise<string> {
  if (!validScryptParams(params)) throw new Error('scrypt parameters out of range');
  const salt = randomBytes(saltBytes);
  const hash = await scryptAsync(password, salt, keyBytes, params);
  return formatPasswordHash({ ...params, salt, hash });
}

/** The same hash computed synchronously, for config files that must exist before anything async runs. */
export function hashPasswordSync(password: string, params: ScryptParams = defaultScryptParams): string {
  if (!validScryptParams(params)) throw new Error('scrypt parameters out of range');
  const salt = randomBytes(saltBytes);
  const hash = scryptSync(password.normalize('NFC'), salt, keyBytes, scryptOptions(params));
  return formatPasswordHash({ ...params, salt, hash });
}

/** Constant-time comparison of the derived key with the stored one. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const derived = await scryptAsync(password, stored.salt, stored.hash.length, stored);
  return timingSafeEqual(derived, stored.hash);
}

/** Spends the same scrypt time as a real check, so an unknown username is not revealed by a fast reply. */
export async function spendPasswordTime(password: string, params: ScryptParams): Promise<void> {
  await scryptAsync(password, randomBytes(saltBytes), keyBytes, params);
}
