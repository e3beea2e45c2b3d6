/** Test-only: a bare ssh2 client speaking chisel's protocol, to drive the server step by step. */
import { Client } from 'ssh2';
import WebSocket from 'ws';
import { chiselProtocol } from '../../agent/tunnel/chisel-wire';
import { attachChiselProtocol, IdentRewriter, sendGlobalRequest } from '../../agent/tunnel/ssh-compat';
import { WebSocketDuplex } from '../../agent/tunnel/ws-stream';

export interface RawPeer {
  client: Client;
  /** Resolves when the SSH connection has closed. */
  closed: Promise<void>;
  request: (name: string, payload?: Buffer) => Promise<{ failure?: string; data?: Buffer }>;
  /** Stops answering the server's `ping`, like a hung peer. */
  goSilent: () => void;
  /** How many `ping`s the server has sent. */
  pings: () => number;
}

type GlobalRequestHandler = (proto: unknown, name: string, wantReply: boolean, data: unknown) => void;

/** ssh2 has no hook for incoming global requests; the test reaches into its (private) handler table. */
function handlersOf(client: Client): Record<string, GlobalRequestHandler | undefined> {
  return (client as unknown as { _protocol: { _handlers: Record<string, GlobalRequestHandler | undefined> } })._protocol
    ._handlers;
}

export function connectRaw(url: string, username = '', password = ''): Promise<RawPeer> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), {
    headers: { 'Sec-WebSocket-Protocol': chiselProtocol },
    perMessageDeflate: false,
  });
  const rewriter = new IdentRewriter();
  const duplex = new WebSocketDuplex(ws, (chunk) => rewriter.feed(chunk));
  duplex.on('error', () => undefined);
  const client = new Client();
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  let pings = 0;
  let silent = false;
  const peer: RawPeer = {
    client,
    closed,
    request: (name, payload) =>
      new Promise((resolve) => {
        sendGlobalRequest(client, name, payload, (reply) => {
          if (reply.kind === 'success') resolve({ failure: undefined, data: reply.data });
          else resolve({ failure: reply.kind === 'failure' ? reply.message : 'disconnected', data: undefined });
        });
      }),
    goSilent: () => {
      silent = true;
    },
    pings: () => pings,
  };
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      client.once('ready', () => resolve(peer));
      client.once('error', reject);
      client.connect({ sock: duplex, username, password, keepaliveInterval: 0, hostVerifier: () => true });
      attachChiselProtocol(
        client,
        () => rewriter.original,
        () => undefined,
      );
      const handlers = handlersOf(client);
      const answer = handlers.GLOBAL_REQUEST;
      handlers.GLOBAL_REQUEST = (proto, name, wantReply, data): void => {
        if (name === 'ping') pings += 1;
        if (!silent) answer?.(proto, name, wantReply, data);
      };
    });
  });
}

export function configPayload(remotes: Record<string, string | boolean>[]): Buffer {
  return Buffer.from(JSON.stringify({ Version: '1.11.3', Remotes: remotes }));
}

export function reverseRemote(
  localPort: number,
  targetPort: number,
  localHost = '127.0.0.1',
): Record<string, string | boolean> {
  return {
    LocalHost: localHost,
    LocalPort: String(localPort),
    LocalProto: 'tcp',
    RemoteHost: '127.0.0.1',
    RemotePort: String(targetPort),
    RemoteProto: 'tcp',
    Socks: false,
    Reverse: true,
    Stdio: false,
  };
}
