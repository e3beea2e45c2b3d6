/**
 * Where remote tunnel ports come from. The reference control plane's tunnel servers (embedded, or the Go
 * chisel server in tests) run on this machine, so before handing a port to an agent it asks the OS: a
 * port some other program listens on is never allocated, and `'os'` lets the kernel pick a free
 * ephemeral port (port 0), which concurrent test processes cannot collide on the way they do in a range.
 */
import net from 'node:net';

/** An inclusive LOW-HIGH range, or `'os'`: any port the OS reports free. */
export type TunnelPortSource = [number, number] | 'os';

/** How ports are checked; the OS by default, replaced in unit tests of the allocation order. */
export interface PortProbe {
  /** True when nothing listens on the port (a listen on 0.0.0.0 succeeds). */
  isFree(port: number): Promise<boolean>;
  /** A port the OS picked for a listen on port 0, released again. */
  ephemeral(): Promise<number>;
}

/** Listens on 0.0.0.0:port and closes again; resolves with the port, or undefined when the listen fails. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

export const systemPortProbe: PortProbe = {
  isFree: async (port) => (await tryListen(port)) !== undefined,
  ephemeral: async () => {
    const port = await tryListen(0);
    if (port === undefined) throw new Error('the OS gave no free port for a listen on port 0');
    return port;
  },
};

export class PortsExhaustedError extends Error {
  constructor(source: TunnelPortSource) {
    super(
      source === 'os'
        ? 'the OS gave no free tunnel port that is not allocated already'
        : `no free tunnel port left in ${source[0]}-${source[1]} (allocated, or in use by another program)`,
    );
  }
}

/** How often `'os'` asks again when the kernel hands back a port that is allocated to another forward. */
const ephemeralAttempts = 32;

async function ephemeralPort(taken: Set<number>, probe: PortProbe): Promise<number> {
  for (let attempt = 0; attempt < ephemeralAttempts; attempt++) {
    const port = await probe.ephemeral();
    if (!taken.has(port)) return port;
  }
  throw new PortsExhaustedError('os');
}

async function rangePort(taken: Set<number>, range: [number, number], probe: PortProbe): Promise<number> {
  for (let port = range[0]; port <= range[1]; port++) {
    if (!taken.has(port) && (await probe.isFree(port))) return port;
  }
  throw new PortsExhaustedError(range);
}

/**
 * A port for each name that has none yet (the lowest free one of a range, or one the OS picks);
 * existing allocations are kept. Throws PortsExhaustedError without allocating anything.
 */
export async function allocatePorts(
  request: { existing: Record<string, number>; names: string[]; used: Set<number> },
  source: TunnelPortSource,
  probe: PortProbe = systemPortProbe,
): Promise<Record<string, number>> {
  const { existing, names, used } = request;
  const ports = { ...existing };
  const taken = new Set([...used, ...Object.values(existing)]);
  for (const name of names) {
    if (ports[name] !== undefined) continue;
    const port = source === 'os' ? await ephemeralPort(taken, probe) : await rangePort(taken, source, probe);
    ports[name] = port;
    taken.add(port);
  }
  return ports;
}
