/**
 * The proxy for a URL following the usual environment convention: HTTPS_PROXY for https/wss, HTTP_PROXY
 * for http/ws (lowercase names win, as curl does), and NO_PROXY entries (`host`, `.domain`, `host:port`,
 * `*`) excluded. Returns undefined for a direct connection.
 */
export function proxyForUrl(target: string, env: Record<string, string | undefined> = process.env): string | undefined {
  const url = new URL(target);
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  const proxy = secure ? (env.https_proxy ?? env.HTTPS_PROXY) : (env.http_proxy ?? env.HTTP_PROXY);
  if (!proxy) return undefined;
  const port = url.port || (secure ? '443' : '80');
  const host = url.hostname.toLowerCase();
  const noProxy = (env.no_proxy ?? env.NO_PROXY ?? '').split(/[\s,]+/).filter(Boolean);
  return noProxy.some((entry) => matchesNoProxy(entry.toLowerCase(), host, port)) ? undefined : proxy;
}

function matchesNoProxy(entry: string, host: string, port: string): boolean {
  if (entry === '*') return true;
  const [entryHost = '', entryPort] = entry.split(':');
  if (entryPort && entryPort !== port) return false;
  const bare = entryHost.replace(/^\*?\./, '');
  return host === bare || host.endsWith(`.${bare}`);
}
