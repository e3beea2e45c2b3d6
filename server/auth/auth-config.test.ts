import { describe, expect, it } from 'vitest';
import { loadAuthConfig } from './auth-config';

describe('loadAuthConfig', () => {
  it('defaults: no users, writable, 12 h sessions, origin from the request', () => {
    expect(loadAuthConfig({})).toEqual({
      secret: undefined,
      url: undefined,
      users: { kind: 'none' },
      readOnly: false,
      sessionMaxAgeSeconds: 43_200,
      sessionIdleTimeoutSeconds: 1800,
    });
  });

  it('reads every variable and treats empty strings as unset', () => {
    const config = loadAuthConfig({
      NEXTAUTH_SECRET: 'x'.repeat(32),
      NEXTAUTH_URL: '',
      PIPEOPS_DASHBOARD_USERS_FILE: '/etc/pipeops/users/users.yaml',
      PIPEOPS_DASHBOARD_READ_ONLY: 'yes',
      PIPEOPS_DASHBOARD_SESSION_MAX_AGE: '30m',
    });
    expect(config).toMatchObject({
      url: undefined,
      users: { kind: 'file', path: '/etc/pipeops/users/users.yaml' },
      readOnly: true,
      sessionMaxAgeSeconds: 1800,
    });
  });

  it('reads the idle timeout, and caps the default one at a shorter absolute lifetime', () => {
    expect(loadAuthConfig({ PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT: '5m' }).sessionIdleTimeoutSeconds).toBe(300);
    expect(loadAuthConfig({ PIPEOPS_DASHBOARD_SESSION_MAX_AGE: '10m' }).sessionIdleTimeoutSeconds).toBe(600);
  });

  it('refuses an idle timeout that is not a duration, or longer than the absolute lifetime', () => {
    expect(() => loadAuthConfig({ PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT: 'soon' })).toThrow(
      'config: env PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT = "soon" is invalid: must be a duration from 1m to 720h, e.g. 30m',
    );
    expect(() =>
      loadAuthConfig({ PIPEOPS_DASHBOARD_SESSION_MAX_AGE: '1h', PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT: '2h' }),
    ).toThrow(
      'config: env PIPEOPS_DASHBOARD_SESSION_IDLE_TIMEOUT = "2h" is invalid: must not be longer than the session\'s absolute lifetime PIPEOPS_DASHBOARD_SESSION_MAX_AGE (3600s)',
    );
  });

  it('fails with one line naming the variable, the value and what is allowed', () => {
    expect(() => loadAuthConfig({ PIPEOPS_DASHBOARD_READ_ONLY: 'maybe' })).toThrow(
      'config: env PIPEOPS_DASHBOARD_READ_ONLY = "maybe" is invalid: must be true or false',
    );
    expect(() => loadAuthConfig({ NEXTAUTH_SECRET: 'short' })).toThrow(
      'config: env NEXTAUTH_SECRET = [redacted] is invalid: must be at least 32 characters',
    );
    expect(() => loadAuthConfig({ NEXTAUTH_URL: 'ftp://x' })).toThrow(
      'config: env NEXTAUTH_URL = "ftp://x" is invalid: must be an http:// or https:// URL, or unset to use the request host',
    );
    expect(() => loadAuthConfig({ PIPEOPS_DASHBOARD_SESSION_MAX_AGE: '10s' })).toThrow(
      'config: env PIPEOPS_DASHBOARD_SESSION_MAX_AGE = "10s" is invalid: must be a duration from 1m to 720h, e.g. 12h',
    );
    expect(() => loadAuthConfig({ PIPEOPS_DASHBOARD_USERS_FILE: '/a', PIPEOPS_DASHBOARD_USERS: 'users: []' })).toThrow(
      'config: env PIPEOPS_DASHBOARD_USERS_FILE and PIPEOPS_DASHBOARD_USERS are both set: set only one of them',
    );
  });
});
