import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse, stringify } from 'yaml';
import { pkiPaths } from '../cluster/pki';
import { sandboxLayout } from '../cluster/state';

/**
 * API-server-side faults for tests: a TLS proxy in front of the sandbox's real kube-apiserver (it serves
 * the API server's own certificate, so a kubeconfig pointing at it verifies as usual) that forwards every
 * request untouched, except those a rule matches. Test support only; never used by the agent itself.
 */

/** The body etcd's leader election gives a request that raced it: a transient 503. */
export const leaderChangedStatus = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'etcdserver: leader changed',
  reason: 'ServiceUnavailable',
  code: 503,
};

export type KubeFault =
  | { kind: 'status'; status: number; body: unknown }
  /** The TCP connection is cut before any reply byte. */
  | { kind: 'drop' };

export interface KubeFaultRule {
  method: string;
  path: RegExp;
  fault: KubeFault;
  /** How many matching requests get the fault; Infinity for a standing fault. */
  times: number;
}

export interface KubeFaultProxy {
  url: string;
  /** Adds a rule; matching requests get its fault until it is used up. */
  inject: (rule: KubeFaultRule) => void;
  clear: () => void;
  /** How many requests got a fault so far. */
  injected: () => number;
  /** A copy of `kubeconfig` that talks to the API server through this proxy. */
  kubeconfig: (source: string, target: string) => Promise<string>;
  stop: () => Promise<void>;
}

export async function startKubeFaultProxy(sandboxName: string, upstream: string): Promise<KubeFaultProxy> {
  const pki = pkiPaths(sandboxLayout(sandboxName).pkiDir);
  const [cert, key, ca] = await Promise.all([
    readFile(pki.servingCert),
    readFile(pki.servingKey),
    readFile(pki.caCert),
  ]);
  const rules: { rule: KubeFaultRule; left: number }[] = [];
  let injected = 0;
  const upstreamUrl = new URL(upstream);
  const upstreamAgent = new https.Agent({ ca, keepAlive: true });

  const takeFault = (req: IncomingMessage): KubeFault | undefined => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const entry = rules.find(({ rule, left }) => left > 0 && rule.method === req.method && rule.path.test(path));
    if (!entry) return undefined;
    entry.left -= 1;
    injected += 1;
    return entry.rule.fault;
  };

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const upstreamReq = https.request(
      {
        protocol: upstreamUrl.protocol,
        hostname: upstreamUrl.hostname,
        port: upstreamUrl.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstreamUrl.host },
        agent: upstreamAgent,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        // A watch sends headers and then nothing until an event: pass the headers on at once.
        res.flushHeaders();
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', () => res.destroy());
    res.on('close', () => upstreamReq.destroy());
    req.pipe(upstreamReq);
  };

  const server = https.createServer({ cert, key }, (req, res) => {
    const fault = takeFault(req);
    if (!fault) {
      forward(req, res);
      return;
    }
    if (fault.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    req.resume();
    res.writeHead(fault.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(fault.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `https://127.0.0.1:${port}`;

  return {
    url,
    inject: (rule) => rules.push({ rule, left: rule.times }),
    clear: () => rules.splice(0),
    injected: () => injected,
    kubeconfig: async (source, target) => {
      const config = parse(await readFile(source, 'utf8')) as { clusters: { cluster: { server: string } }[] };
      for (const entry of config.clusters) entry.cluster.server = url;
      await writeFile(target, stringify(config), { mode: 0o600 });
      return target;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      upstreamAgent.destroy();
    },
  };
}
