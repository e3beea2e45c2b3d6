import { describe, expect, it } from 'vitest';
import type { LiveUpdate } from '@/server/dashboard/view-model';
import { LiveHub, type LiveSource } from './live-hub';

function countingSource(): LiveSource & { starts: number; stops: number; publish?: (update: LiveUpdate) => void } {
  const source = {
    starts: 0,
    stops: 0,
    publish: undefined as ((update: LiveUpdate) => void) | undefined,
    start(publish: (update: LiveUpdate) => void): void {
      source.starts += 1;
      source.publish = publish;
    },
    async stop(): Promise<void> {
      source.stops += 1;
    },
  };
  return source;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

const update: LiveUpdate = { topic: 'audit', sentAt: 1, data: { audit: [] } };

describe('LiveHub', () => {
  it('runs its sources only while a stream is open and sends each update to every stream', async () => {
    const source = countingSource();
    const hub = new LiveHub([source]);
    const first = new AbortController();
    const second = new AbortController();
    const a = readAll(hub.subscribe(first.signal, [update]));
    const b = readAll(hub.subscribe(second.signal));
    expect(source.starts).toBe(1);
    source.publish?.({ ...update, sentAt: 2 });
    first.abort();
    second.abort();
    expect(source.stops).toBe(1);
    const [textA, textB] = await Promise.all([a, b]);
    expect(textA).toBe(
      'retry: 2000\n\n' +
        `event: update\ndata: ${JSON.stringify(update)}\n\n` +
        `event: update\ndata: ${JSON.stringify({ ...update, sentAt: 2 })}\n\n`,
    );
    expect(textB).toContain('"sentAt":2');
    expect(hub.subscribers).toBe(0);
  });

  it('ends every stream on close and refuses new ones', async () => {
    const source = countingSource();
    const hub = new LiveHub([source]);
    const open = readAll(hub.subscribe(new AbortController().signal));
    await hub.close();
    expect(await open).toBe('retry: 2000\n\n');
    expect(await readAll(hub.subscribe(new AbortController().signal))).toBe('');
    expect(source.stops).toBe(1);
  });
});
