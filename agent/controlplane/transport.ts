import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { gunzipSync } from 'node:zlib';
import { HttpsProxyAgent } from 'https-proxy-agent';
import type { RuntimeConfig } from '../config/load';
import { scrubSecrets } from '../logging/scrub';
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

  /** Peer text (error bodies, error messages) with our token and anything credential-shaped cut out. */
  scrub(text: string): string {
    return scrubSecrets(text, [this.#token]);
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

  /**
   * One control-plane request. `PIPEOPS_TIMEOUT` is a deadline for the whole exchange — connect, headers
   * and the full body — not an idle timeout, so a server trickling a byte at a time cannot hold it longer.
   */
  async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<ControlPlaneReply> {
    const url = new URL(path, this.apiUrl);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const client = url.protocol === 'https:' ? https : http;
    const label = `${method} ${url.pathname}`;
    return new Promise((resolve, reject) => {
      let settled = false;
      const req = client.request(url, {
        ...this.#tls,
        method,
        agent: this.agentFor(url.toString()),
        headers: {
          ...this.authHeaders(),
          Accept: 'application/json',
          'Accept-Encoding': 'gzip, identity',
          ...(payload === undefined
            ? {}
            : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
        },
      });
      const settle = (outcome: { reply: ControlPlaneReply } | { error: TransportError }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if ('reply' in outcome) {
          resolve(outcome.reply);
          return;
        }
        req.destroy();
        reject(outcome.error);
      };
      const deadline = setTimeout(
        () => settle({ error: new TransportError(`${label} did not complete within ${this.#timeoutMs} ms`) }),
        this.#timeoutMs,
      );
      req.on('error', (error) =>
        settle({
          error:
            error instanceof TransportError ? error : new TransportError(`${label}: ${describeNetworkError(error)}`),
        }),
      );
      req.on('response', (res) => {
        void readReply(res, label).then(
          (reply) => settle({ reply }),
          (error: unknown) =>
            settle({
              error: error instanceof TransportError ? error : new TransportError(`${label}: ${String(error)}`),
            }),
        );
      });
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
    res.on('end', () => {
      try {
        const body = decodeBody(Buffer.concat(chunks), res.headers['content-encoding'], label);
        resolve({ status: res.statusCode ?? 0, body });
      } catch (error) {
        reject(error as TransportError);
      }
    });
    res.on('error', (error) => reject(new TransportError(`${label}: ${error.message}`)));
    res.on('aborted', () => reject(new TransportError(`${label}: the reply was cut off`)));
  });
}

/**
 * The reply body as text. A body labelled gzip must be gzip (decoded with the same size bound as a plain
 * one); any other Content-Encoding, which the agent never asks for, is rejected rather than read as text.
 */
export function decodeBody(raw: Buffer, encoding: string | undefined, label: string): string {
  const coding = (encoding ?? 'identity').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return raw.toString('utf8');
  if (coding !== 'gzip') {
    throw new TransportError(
      `${label}: reply has Content-Encoding "${coding.slice(0, 32)}"; only gzip or identity is accepted`,
    );
  }
  try {
    return gunzipSync(raw, { maxOutputLength: maxMessageBytes }).toString('utf8');
  } catch (error) {
    throw new TransportError(
      `${label}: reply is labelled Content-Encoding: gzip but its body is not valid gzip within ${maxMessageBytes} bytes (${(error as Error).message})`,
    );
  }
}
