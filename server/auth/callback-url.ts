import 'server-only';

export const defaultCallbackPath = '/dashboard';

/**
 * A `callbackUrl` is honoured only as a same-origin relative path ("/dashboard?x=1"); anything else
 * ("//evil.example", "https://...", "/\\evil", "javascript:") becomes the dashboard, so the login page cannot be
 * used as an open redirect.
 */
export function safeCallbackPath(raw: string | string[] | undefined): string {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value || value.length > 2048 || !value.startsWith('/')) return defaultCallbackPath;
  if (value.startsWith('//') || value.startsWith('/\\') || /[\u0000-\u001f\\]/.test(value)) return defaultCallbackPath;
  const parsed = new URL(value, 'http://placeholder.invalid');
  if (parsed.origin !== 'http://placeholder.invalid') return defaultCallbackPath;
  if (parsed.pathname === '/login') return defaultCallbackPath;
  return `${parsed.pathname}${parsed.search}${parsed.hash}`;
}
