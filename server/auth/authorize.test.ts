// Runs next-auth's real request path (csrf → Credentials callback → authorize → JWT → session) with a real
// users file; only the HTTP plumbing of the Pages-style handler is a plain object.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import NextAuth, { getServerSession } from 'next-auth';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashPassword } from './password';
import { authOptions, sameOriginRedirect } from './options';

interface FakeResponse {
  statusCode: number;
  body: unknown;
  headers: Map<string, unknown>;
}

function fakeRes(): FakeResponse & Record<string, unknown> {
  const state: FakeResponse = { statusCode: 200, body: undefined, headers: new Map() };
  const res = {
    ...state,
    status: (code: number) => ((res.statusCode = code), res),
    setHeader: (key: string, value: unknown) => (res.headers.set(key.toLowerCase(), value), res),
    getHeader: (key: string) => res.headers.get(key.toLowerCase()),
    end: () => res,
    json: (body: unknown) => ((res.body = body), res),
    send: (body: unknown) => ((res.body = body), res),
  };
  return res;
}

function cookiesOf(res: FakeResponse): Record<string, { value: string; attributes: string }> {
  const lines = (res.headers.get('set-cookie') as string[] | undefined) ?? [];
  return Object.fromEntries(
    lines.map((line) => {
      const [pair = '', ...rest] = line.split('; ');
      const at = pair.indexOf('=');
      return [pair.slice(0, at), { value: decodeURIComponent(pair.slice(at + 1)), attributes: rest.join('; ') }];
    }),
  );
}

type Headers = Record<string, string>;
// What Next passes on through kubectl port-forward: the socket peer (stamped by the agent host) and the
// X-Forwarded-* headers Next fills in when no proxy did.
const portForward: Headers = {
  host: '127.0.0.1:43210',
  'x-forwarded-proto': 'http',
  'x-forwarded-for': '127.0.0.1',
  'x-pipeops-peer-address': '127.0.0.1',
};

interface InternalRequest {
  method: string;
  headers: Headers;
  cookies?: Record<string, string>;
  body?: object;
}

async function handle(action: string[], req: InternalRequest): Promise<FakeResponse> {
  const res = fakeRes();
  const full = { cookies: {}, ...req, query: { nextauth: action } };
  await (NextAuth as (req: unknown, res: unknown, options: unknown) => Promise<void>)(full, res, authOptions());
  return res;
}

async function signIn(username: string, password: string, headers: Headers = portForward) {
  const csrf = await handle(['csrf'], { method: 'GET', headers });
  const csrfCookie = Object.entries(cookiesOf(csrf)).find(([name]) => name.endsWith('next-auth.csrf-token'))!;
  const { csrfToken } = csrf.body as { csrfToken: string };
  const body = { csrfToken, username, password, json: 'true', callbackUrl: '/dashboard?tab=audit' };
  const cookies = { [csrfCookie[0]]: csrfCookie[1].value };
  const res = await handle(['callback', 'credentials'], { method: 'POST', headers, cookies, body });
  return { res, url: (res.body as { url: string }).url, cookies: cookiesOf(res) };
}

describe('Credentials provider through next-auth (real authorize path)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'auth-'));
    const cheap = { N: 1024, r: 8, p: 1 };
    const users = [
      { username: 'alice', role: 'admin', password_hash: await hashPassword('alice-pw', cheap) },
      { username: 'victor', role: 'viewer', password_hash: await hashPassword('victor-pw', cheap) },
    ];
    writeFileSync(path.join(dir, 'users.json'), JSON.stringify({ users }));
    vi.stubEnv('PIPEOPS_DASHBOARD_USERS_FILE', path.join(dir, 'users.json'));
    vi.stubEnv('NEXTAUTH_SECRET', 'test-secret-that-is-at-least-32-characters');
    vi.stubEnv('NEXTAUTH_URL', undefined);
    vi.stubEnv('AUTH_TRUST_HOST', undefined);
  });
  afterAll(() => {
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs an admin in through a port-forward origin and the session carries name and role', async () => {
    const { res, url, cookies } = await signIn('alice', 'alice-pw');
    expect(res.statusCode).toBe(200);
    expect(url).toBe('http://127.0.0.1:43210/dashboard?tab=audit');
    const session = cookies['next-auth.session-token'];
    expect(session?.attributes).not.toMatch(/Secure/);
    const req = { headers: portForward, cookies: { 'next-auth.session-token': session!.value } };
    const found = await getServerSession(req as never, fakeRes() as never, authOptions());
    expect(found?.user).toEqual({ name: 'alice', role: 'admin' });
  });

  it('derives an https origin and secure cookies behind an ingress without NEXTAUTH_URL', async () => {
    const ingress = {
      host: '10.0.0.7:3000',
      'x-forwarded-host': 'ops.example.com',
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.9, 10.0.0.1',
    };
    const { url, cookies } = await signIn('victor', 'victor-pw', ingress);
    expect(url).toBe('https://ops.example.com/dashboard?tab=audit');
    expect(cookies['__Secure-next-auth.session-token']?.attributes).toMatch(/Secure/);
  });

  it('rejects a wrong password and an unknown user with the same message', async () => {
    const headers = { ...portForward, 'x-pipeops-peer-address': '192.0.2.1' };
    const wrong = await signIn('alice', 'nope', headers);
    const unknown = await signIn('mallory', 'nope', headers);
    for (const attempt of [wrong, unknown]) {
      expect(attempt.res.statusCode).toBe(401);
      expect(new URL(attempt.url).searchParams.get('error')).toBe('Invalid username or password');
      expect(attempt.cookies['next-auth.session-token']).toBeUndefined();
    }
  });

  it('locks out a username+address after 5 failures with a clear message', async () => {
    const headers = { ...portForward, 'x-pipeops-peer-address': '192.0.2.50' };
    for (let i = 0; i < 4; i += 1) await signIn('victor', 'wrong', headers);
    const fifth = await signIn('victor', 'wrong', headers);
    expect(new URL(fifth.url).searchParams.get('error')).toBe(
      'Invalid username or password. Too many failed attempts: try again in 30 s',
    );
    const locked = await signIn('victor', 'victor-pw', headers);
    expect(new URL(locked.url).searchParams.get('error')).toBe('Too many failed sign-in attempts: try again in 30 s');
    const elsewhere = await signIn('victor', 'victor-pw', { ...headers, 'x-pipeops-peer-address': '192.0.2.51' });
    expect(elsewhere.res.statusCode).toBe(200);
  });

  it('a new X-Forwarded-For per attempt gives no extra guesses (finding 4): the socket address counts', async () => {
    const headers = { ...portForward, 'x-pipeops-peer-address': '192.0.2.60' };
    for (let i = 0; i < 5; i += 1) await signIn('alice', 'wrong', { ...headers, 'x-forwarded-for': `198.51.100.${i}` });
    const locked = await signIn('alice', 'alice-pw', { ...headers, 'x-forwarded-for': '198.51.100.99' });
    expect(new URL(locked.url).searchParams.get('error')).toMatch(/^Too many failed sign-in attempts/);
  });

  it('limits one address across usernames', async () => {
    const headers = { ...portForward, 'x-pipeops-peer-address': '192.0.2.61' };
    for (let i = 0; i < 20; i += 1) await signIn(`spray-${i}`, 'wrong', headers);
    const locked = await signIn('alice', 'alice-pw', headers);
    expect(new URL(locked.url).searchParams.get('error')).toMatch(/^Too many failed sign-in attempts/);
    const other = await signIn('alice', 'alice-pw', { ...headers, 'x-pipeops-peer-address': '192.0.2.62' });
    expect(other.res.statusCode).toBe(200);
  });

  it('redirects only to the same origin', () => {
    const baseUrl = 'http://127.0.0.1:43210';
    expect(sameOriginRedirect({ url: '/dashboard', baseUrl })).toBe(`${baseUrl}/dashboard`);
    expect(sameOriginRedirect({ url: `${baseUrl}/x`, baseUrl })).toBe(`${baseUrl}/x`);
    expect(sameOriginRedirect({ url: '//evil.example/x', baseUrl })).toBe(`${baseUrl}/dashboard`);
    expect(sameOriginRedirect({ url: 'https://evil.example/', baseUrl })).toBe(`${baseUrl}/dashboard`);
  });
});
