import { NextRequest } from 'next/server';
import { describe, expect, it } from 'vitest';
import { authBodyLimitBytes, boundedRequest } from './bounded-request';

function streamOf(bytes: number, onPull: () => void = () => undefined): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      onPull();
      if (sent >= bytes) return controller.close();
      const size = Math.min(16 * 1024, bytes - sent);
      sent += size;
      controller.enqueue(new Uint8Array(size).fill(97));
    },
  });
}

function loginPost(body: BodyInit, headers: Record<string, string> = {}): NextRequest {
  return new NextRequest('http://127.0.0.1:8443/api/auth/callback/credentials?json=true', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
    duplex: 'half',
  } as ConstructorParameters<typeof NextRequest>[1]);
}

describe('boundedRequest', () => {
  it('passes a small body on unchanged, with method, URL and headers', async () => {
    const form = 'csrfToken=abc&username=alice&password=pw&json=true';
    const bounded = await boundedRequest(loginPost(form, { 'x-pipeops-peer-address': '10.1.2.3' }), 8 * 1024);
    expect(bounded.method).toBe('POST');
    expect(bounded.nextUrl.searchParams.get('json')).toBe('true');
    expect(bounded.headers.get('x-pipeops-peer-address')).toBe('10.1.2.3');
    expect(Object.fromEntries(await bounded.formData())).toMatchObject({ username: 'alice', password: 'pw' });
  });

  it('refuses a declared Content-Length over the limit without reading the body', async () => {
    let pulls = 0;
    const request = loginPost(
      streamOf(1024 * 1024, () => pulls++),
      { 'content-length': String(1024 * 1024) },
    );
    await expect(boundedRequest(request, 8 * 1024)).rejects.toMatchObject({
      status: 413,
      message: 'request body is larger than 8 KiB',
    });
    expect(pulls).toBeLessThanOrEqual(1);
  });

  it('cuts off a chunked body as soon as it passes the limit', async () => {
    let pulls = 0;
    await expect(boundedRequest(loginPost(streamOf(50 * 1024 * 1024, () => pulls++)), 8 * 1024)).rejects.toMatchObject({
      status: 413,
    });
    expect(pulls).toBeLessThan(5);
  });
});

describe('the next-auth route (unauthenticated login callback)', () => {
  it('answers 413 with a clear error for an oversized body before next-auth reads it', async () => {
    const { POST } = await import('@/app/api/auth/[...nextauth]/route');
    const context = { params: Promise.resolve({ nextauth: ['callback', 'credentials'] }) };
    const response = await POST(loginPost(streamOf(2 * 1024 * 1024)), context);
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      error: { code: 'payload_too_large', message: `request body is larger than ${authBodyLimitBytes / 1024} KiB` },
    });
  });
});
