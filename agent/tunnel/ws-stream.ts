import { Duplex } from 'node:stream';
import WebSocket from 'ws';

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * A byte stream over a WebSocket, as chisel's wsConn: each write is one binary message, inbound
 * messages are concatenated. `mapInbound` may rewrite bytes (ssh-compat's banner fix). Backpressure
 * pauses the socket; the stream is destroyed when the WebSocket closes, so ssh2 sees `close`.
 */
export class WebSocketDuplex extends Duplex {
  readonly #ws: WebSocket;

  constructor(ws: WebSocket, mapInbound: (chunk: Buffer) => Buffer) {
    super();
    this.#ws = ws;
    ws.on('message', (data) => {
      const chunk = mapInbound(toBuffer(data));
      if (chunk.length > 0 && !this.push(chunk)) ws.pause();
    });
    ws.on('close', () => {
      this.push(null);
      this.destroy();
    });
    ws.on('error', (err) => this.destroy(err));
  }

  override _read(): void {
    this.#ws.resume();
  }

  /** Completes a write and then says so: `writableLength` is already lower when `sent` fires. */
  #sent(callback: (error?: Error | null) => void): (error?: Error | null) => void {
    return (error) => {
      callback(error);
      this.emit('sent');
    };
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#ws.send(chunk, { binary: true }, this.#sent(callback));
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    chunks.forEach(({ chunk }, index) => {
      this.#ws.send(chunk, { binary: true }, index === chunks.length - 1 ? this.#sent(callback) : undefined);
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#ws.close();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.#ws.readyState !== WebSocket.CLOSED) this.#ws.terminate();
    callback(error);
  }
}
