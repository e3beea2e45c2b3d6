import 'server-only';
import { Server, type IncomingMessage } from 'node:http';
import { peerAddressHeader } from './client-address';

const installed = Symbol.for('pipeops.peerAddressHeader');
type Patched = typeof Server.prototype & { [installed]?: true };

/**
 * Stamps every incoming request with its socket's address before Next.js sees it (route handlers get
 * headers, not the socket). Patching the prototype's emit reaches the standalone server's instance,
 * whenever it was created; a client-sent copy of the header is overwritten.
 */
export function installPeerAddressHeader(): void {
  const proto = Server.prototype as Patched;
  if (proto[installed]) return;
  proto[installed] = true;
  const emit = proto.emit;
  proto.emit = function patchedEmit(this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'request') {
      const req = args[0] as IncomingMessage;
      req.headers[peerAddressHeader] = req.socket?.remoteAddress ?? '';
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof proto.emit;
}
