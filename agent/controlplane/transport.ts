import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { RuntimeConfig } from '../config/load';
import { maxMessageBytes } from './protocol';
import { proxyForUrl } from './proxy';

export interface ControlPlaneReply {
  status: number;
  body: string;
}

/** Network-level failure talking to the control plane (no HTTP status), e.g. refused or timed out. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
}

/**
 * How the agent reaches the control plane: TLS verified unless explicitly disabled, an optional CA
 * bundle, HTTPS_PROXY/HTTP_PROXY/NO_PROXY honoured, a bounded reply size and a timeout.
 */
export class ControlPlaneTransport {
  readonly apiUrl: URL;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #tls: { rejectUnauthorized: boolean; ca?: Buffer };
  readonly #agents = new Map<string, http.Agent>();

  constructor(config: RuntimeConfig) {
    this.apiUrl = new URL(config.pipeops.api_url);
    this.#token = config.pipeops.token;
    this.#timeoutMs = config.pipeops.timeout;
    this.#tls = {
      rejectUnauthorized: !config.pipeops.tls.insecure_skip_verify,
      ca: config.pipeops.tls.ca_file ? readFileSync(/* turbopackIgnore: true */ config.pipeops.tls.ca_file) : undefined,
    };
  }

  /** The WebSocket URL for a path: https→wss and http→ws, never a downgrade. */
  webSocketUrl(path: string): string {
    const url = new URL(path, this.apiUrl);
    url.protocol = this.apiUrl.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  }

  authHeaders(): Record<string, string> {
    return { Authorization: `Bearer ${this.#token}`, 'User-Agent': 'pipeops-agent' };
  }

  /**
   * TLS options for the connection to the control plane itself. They go on every request (not only the
   * agent) because through a CONNECT proxy the proxy agent takes the target's TLS options from the request.
   */
  tlsOptions(): { rejectUnauthorized: boolean; ca?: Buffer } {
    return this.#tls;
  }

  /**
   * The agent for a URL: a CONNECT proxy when the environment asks for one, else a direct (TLS) agent.
   * Agents are reused so keep-alive sockets are shared instead of piling up one agent per request.
   */
  agentFor(url: string): http.Agent {
    const proxy = proxyForUrl(url);
    const secure = url.startsWith('https') || url.startsWith('wss');
    const key = proxy ?? (secure ? 'direct-tls' : 'direct');
    let agent = this.#agents.get(key);
    if (!agent) {
      agent = proxy
        ? new HttpsProxyAgent(proxy)
        : secure
          ? new https.Agent({ ...this.#tls, keepAlive: true })
          : new http.Agent({ keepAlive: true });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  /** Drops idle keep-alive sockets (on shutdown). */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ControlPlaneReply> {
    const url = new URL(path, this.apiUrl);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(url, {
        ...this.#tls,
        method,
        agent: this.agentFor(url.toString()),
        timeout: this.#timeoutMs,
        headers: {
          ...this.authHeaders(),
          Accept: 'application/json',
          ...(payload === undefined
            ? {}
            : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
        },
      });
      req.on('timeout', () =>
        req.destroy(new TransportError(`${method} ${url.pathname} timed out after ${this.#timeoutMs} ms`)),
      );
      req.on('error', (error) =>
        reject(
          error instanceof TransportError
            ? error
            : new TransportError(`${method} ${url.pathname}: ${describeNetworkError(error)}`),
        ),
      );
      req.on('response', (res) => void readReply(res, `${method} ${url.pathname}`).then(resolve, reject));
      req.end(payload);
    });
  }
}

function describeNetworkError(error: Error & { code?: string }): string {
  return error.code ? `${error.code} ${error.message}` : error.message;
}

function readReply(res: http.IncomingMessage, label: string): Promise<ControlPlaneReply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxMessageBytes) {
        res.destroy();
        reject(new TransportError(`${label}: reply exceeds ${maxMessageBytes} bytes; dropped`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    res.on('error', (error) => reject(new TransportError(`${label}: ${error.message}`)));
  });
}
