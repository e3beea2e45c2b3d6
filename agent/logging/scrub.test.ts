import { describe, expect, it } from 'vitest';
import { scrubSecrets } from './scrub';

describe('scrubSecrets', () => {
  it('cuts known secrets and credential-shaped values out of peer text', () => {
    expect(scrubSecrets('echo: Authorization: Bearer s3cr3t-token', ['s3cr3t-token'])).toBe(
      'echo: Authorization: Bearer [redacted]',
    );
    expect(scrubSecrets('sent Bearer abc.def-123 to us')).toBe('sent Bearer [redacted] to us');
    expect(scrubSecrets('{"token":"abc","name":"x"}')).toBe('{"token":[redacted],"name":"x"}');
    expect(scrubSecrets('password=hunter2&user=bob')).toBe('password=[redacted]&user=bob');
    expect(scrubSecrets('the value mytoken appears raw', ['mytoken'])).toBe('the value [redacted] appears raw');
  });

  it('leaves ordinary text alone', () => {
    expect(scrubSecrets('cluster c-1 is not registered', ['s3cr3t'])).toBe('cluster c-1 is not registered');
  });
});
