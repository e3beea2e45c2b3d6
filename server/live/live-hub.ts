import 'server-only';
import type { LiveUpdate } from '@/server/dashboard/view-model';

const encoder = new TextEncoder();
const keepAliveMs = 15_000;

interface Subscriber {
  controller: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
}

/** Produces the parts of the view that changed; the hub only fans them out. */
export interface LiveSource {
  /** Called when the first stream opens. */
  start(publish: (update: LiveUpdate) => void): void;
  /** Called when the last stream closes, or on shutdown. */
  stop(): Promise<void>;
}

/**
 * One fan-out point for every open SSE stream of this process. Each update is serialised once and the same
 * bytes are enqueued on every stream, so twenty open dashboards cost one JSON.stringify per change. The
 * sources (runtime events, Kubernetes watches) run only while somebody is watching.
 */
export class LiveHub {
  readonly #subscribers = new Set<Subscriber>();
  readonly #sources: LiveSource[];
  #keepAlive: NodeJS.Timeout | undefined;
  #closed = false;
  #published = 0;

  constructor(sources: LiveSource[]) {
    this.#sources = sources;
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  get published(): number {
    return this.#published;
  }

  /** A new SSE stream; it ends when the client goes away (`signal`) or the process shuts down. */
  subscribe(signal: AbortSignal, first: LiveUpdate[] = []): ReadableStream<Uint8Array> {
    let subscriber: Subscriber | undefined;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        if (this.#closed) {
          controller.close();
          return;
        }
        subscriber = { controller, closed: false };
        this.#subscribers.add(subscriber);
        controller.enqueue(encoder.encode('retry: 2000\n\n'));
        for (const update of first) controller.enqueue(frame(update));
        if (this.#subscribers.size === 1) this.#startSources();
        signal.addEventListener('abort', () => this.#drop(subscriber), { once: true });
      },
      cancel: () => this.#drop(subscriber),
    });
  }

  publish(update: LiveUpdate): void {
    if (this.#subscribers.size === 0) return;
    this.#published += 1;
    const bytes = frame(update);
    for (const subscriber of this.#subscribers) this.#send(subscriber, bytes);
  }

  /** Ends every stream (SIGTERM), so the server can close its connections at once. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const subscriber of [...this.#subscribers]) {
      this.#subscribers.delete(subscriber);
      this.#end(subscriber);
    }
    await this.#stopSources();
  }

  #send(subscriber: Subscriber, bytes: Uint8Array): void {
    try {
      subscriber.controller.enqueue(bytes);
    } catch {
      this.#drop(subscriber);
    }
  }

  #end(subscriber: Subscriber): void {
    if (subscriber.closed) return;
    subscriber.closed = true;
    try {
      subscriber.controller.close();
    } catch {
      // already errored or cancelled by the client
    }
  }

  #drop(subscriber: Subscriber | undefined): void {
    if (!subscriber || !this.#subscribers.delete(subscriber)) return;
    this.#end(subscriber);
    if (this.#subscribers.size === 0) void this.#stopSources();
  }

  #startSources(): void {
    for (const source of this.#sources) source.start((update) => this.publish(update));
    this.#keepAlive = setInterval(() => {
      const ping = encoder.encode(`: keep-alive ${Date.now()}\n\n`);
      for (const subscriber of this.#subscribers) this.#send(subscriber, ping);
    }, keepAliveMs);
    this.#keepAlive.unref();
  }

  async #stopSources(): Promise<void> {
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    await Promise.all(this.#sources.map((source) => source.stop()));
  }
}

function frame(update: LiveUpdate): Uint8Array {
  return encoder.encode(`event: update\ndata: ${JSON.stringify(update)}\n\n`);
}
