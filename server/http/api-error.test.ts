import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError, badRequest, conflict, forbidden, fromZodError, notFound, unauthorized } from './api-error';

describe('ApiError', () => {
  it('renders {error:{code,message}} with its status', async () => {
    const response = new ApiError(418, 'teapot', 'short and stout').toResponse();
    expect(response.status).toBe(418);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ error: { code: 'teapot', message: 'short and stout' } });
  });

  it('has helpers for the common statuses', () => {
    expect(
      [badRequest('x'), unauthorized(), forbidden('x'), notFound('x'), conflict('x')].map((e) => e.status),
    ).toEqual([400, 401, 403, 404, 409]);
    expect(forbidden('no', 'read_only').code).toBe('read_only');
    expect(unauthorized().message).toBe('sign in to use the dashboard');
  });
});

describe('fromZodError', () => {
  const schema = z
    .object({
      replicas: z.number({ error: 'must be a whole number' }).int().min(0, { error: 'must be 0 to 50' }).max(50),
      name: z.string({ error: 'must be a Deployment name' }),
      mode: z.enum(['soft', 'hard'], { error: 'must be soft or hard' }),
    })
    .strict();

  it('names each bad field, its value and what is allowed', () => {
    const input = { replicas: -1, mode: 'medium', extra: true };
    const result = schema.safeParse(input);
    const error = fromZodError(result.error!, 'request body', input);
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toBe(
      'invalid request body: replicas = -1 is invalid: must be 0 to 50; name is required: must be a Deployment name; ' +
        'mode = "medium" is invalid: must be soft or hard; unknown field "extra"',
    );
  });
});
