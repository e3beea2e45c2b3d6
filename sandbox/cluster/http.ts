import { readFileSync } from 'node:fs';
import https from 'node:https';

export interface TlsClient {
  ca: string;
  cert?: string;
  key?: string;
}

export interface HttpResult {
  status: number;
  body: string;
}

/** One GET over TLS with the sandbox CA (and optionally a client cert); never throws on HTTP status. */
export async function tlsGet(url: string, tls: TlsClient, timeoutMs = 5000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      url,
      {
        ca: readFileSync(tls.ca),
        cert: tls.cert ? readFileSync(tls.cert) : undefined,
        key: tls.key ? readFileSync(tls.key) : undefined,
        timeout: timeoutMs,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}
