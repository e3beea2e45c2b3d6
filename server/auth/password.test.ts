import { describe, expect, it } from 'vitest';
import { hashPassword, hashPasswordSync, parsePasswordHash, spendPasswordTime, verifyPassword } from './password';

const cheap = { N: 1024, r: 8, p: 1 };

describe('password hashes', () => {
  it('round-trips: the right password verifies, a wrong one does not', async () => {
    const text = await hashPassword('correct horse', cheap);
    expect(text).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    const stored = parsePasswordHash(text)!;
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct horsE', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('hashes synchronously into the same format', async () => {
    const stored = parsePasswordHash(hashPasswordSync('sync pw', cheap))!;
    expect(await verifyPassword('sync pw', stored)).toBe(true);
    expect(await verifyPassword('other', stored)).toBe(false);
  });

  it('uses a new salt every time', async () => {
    expect(await hashPassword('same', cheap)).not.toBe(await hashPassword('same', cheap));
  });

  it('treats NFC and NFD spellings of a password as the same', async () => {
    const stored = parsePasswordHash(await hashPassword('café', cheap))!;
    expect(await verifyPassword('cafe\u0301', stored)).toBe(true);
  });

  it('rejects malformed hashes and out-of-range costs', () => {
    const salt = Buffer.alloc(16, 1).toString('base64');
    const hash = Buffer.alloc(32, 2).toString('base64');
    expect(parsePasswordHash(`scrypt$1024$8$1$${salt}$${hash}`)).toBeDefined();
    expect(parsePasswordHash('plaintext')).toBeUndefined();
    expect(parsePasswordHash(`bcrypt$1024$8$1$${salt}$${hash}`)).toBeUndefined();
    expect(parsePasswordHash(`scrypt$1000$8$1$${salt}$${hash}`)).toBeUndefined();
    expect(parsePasswordHash(`scrypt$${2 ** 22}$8$1$${salt}$${hash}`)).toBeUndefined();
    expect(parsePasswordHash(`scrypt$1024$8$1$not*base64$${hash}`)).toBeUndefined();
    expect(parsePasswordHash(`scrypt$1024$8$1$${salt}$${Buffer.alloc(8).toString('base64')}`)).toBeUndefined();
    expect(parsePasswordHash(`scrypt$1024$8$${salt}$${hash}`)).toBeUndefined();
  });

  it('spends scrypt time for unknown users without failing', async () => {
    await expect(spendPasswordTime('x', cheap)).resolves.toBeUndefined();
  });
});
