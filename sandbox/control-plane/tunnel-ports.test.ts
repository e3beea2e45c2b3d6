import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { allocatePorts, PortsExhaustedError, systemPortProbe, type PortProbe } from './tunnel-ports';

const listeners: net.Server[] = [];

afterEach(async () => {
  while (listeners.length > 0) await new Promise((resolve) => listeners.pop()?.close(resolve));
});

/** Something else on this machine listening on a port the OS picked. */
async function occupy(host: string): Promise<number> {
  const server = net.createServer();
  listeners.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A probe with a fixed view of which ports are busy and which ports "the OS" hands out, in order. */
function fakeProbe(busy: number[], ephemeral: number[] = []): PortProbe {
  return {
    isFree: (port) => Promise.resolve(!busy.includes(port)),
    ephemeral: () => Promise.resolve(ephemeral.shift() ?? 0),
  };
}

describe('tunnel port allocation', () => {
  it('skips a port of the range that another program listens on (any address)', async () => {
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      const busy = await occupy(host);
      expect(await systemPortProbe.isFree(busy)).toBe(false);
      const ports = await allocatePorts({ existing: {}, names: ['api'], used: new Set() }, [busy, busy + 200]);
      expect(ports.api).toBeGreaterThan(busy);
      expect(await systemPortProbe.isFree(ports.api ?? 0)).toBe(true);
    }
  });

  it('"os" gives each new forward a port the OS reports free, none already allocated, and keeps existing ones', async () => {
    const ports = await allocatePorts(
      { existing: { kept: 1234 }, names: ['kept', 'a', 'b', 'c'], used: new Set([1235]) },
      'os',
    );
    expect(ports.kept).toBe(1234);
    const fresh = [ports.a, ports.b, ports.c];
    expect(new Set(fresh).size).toBe(3);
    for (const port of fresh) {
      expect(port).toBeGreaterThan(0);
      expect(await systemPortProbe.isFree(port ?? 0)).toBe(true);
    }
  });

  it('takes the lowest free port in order and never one another cluster or this one holds', async () => {
    const ports = await allocatePorts(
      { existing: { a: 100 }, names: ['a', 'b', 'c'], used: new Set([101]) },
      [100, 110],
      fakeProbe([102]),
    );
    expect(ports).toEqual({ a: 100, b: 103, c: 104 });
  });

  it('says what is exhausted: a range with every port taken or busy, or an OS that repeats allocated ports', async () => {
    await expect(
      allocatePorts({ existing: {}, names: ['a'], used: new Set([100]) }, [100, 101], fakeProbe([101])),
    ).rejects.toThrow(new PortsExhaustedError([100, 101]).message);
    expect(new PortsExhaustedError([100, 101]).message).toMatch(/100-101 .*in use by another program/);
    const repeats = Array.from({ length: 40 }, () => 100);
    await expect(
      allocatePorts({ existing: {}, names: ['a'], used: new Set([100]) }, 'os', fakeProbe([], repeats)),
    ).rejects.toThrow(/OS gave no free tunnel port/);
  });
});
