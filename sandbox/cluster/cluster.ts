import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureBinaries } from './binaries';
import { bootstrapCluster } from './bootstrap';
import {
  apiServerLaunch,
  auditPolicy,
  controllerManagerLaunch,
  etcdLaunch,
  kwokLaunch,
  logFile,
  schedulerLaunch,
  type ComponentLaunch,
  type SandboxPorts,
} from './components';
import { tlsGet } from './http';
import { writeKubeconfig } from './kubeconfig';
import { ensurePki, pkiPaths, type SandboxPki } from './pki';
import { freePort, isPortListening, isRunning, startProcess, stopProcess } from './processes';
import {
  componentNames,
  readState,
  sandboxLayout,
  writeState,
  type ComponentName,
  type SandboxLayout,
  type SandboxState,
} from './state';
import { sandboxVersions } from './versions';
import { FatalWaitError, waitFor } from './wait';

export type Log = (line: string) => void;

export interface UpOptions {
  name?: string;
  nodes?: number;
  log?: Log;
}

export interface SandboxInfo {
  layout: SandboxLayout;
  state: SandboxState;
  apiServerUrl: string;
  adminKubeconfig: string;
  agentKubeconfig: string;
  alreadyRunning: boolean;
}

const startupTimeoutMs = Number(process.env.PIPEOPS_SANDBOX_TIMEOUT_MS ?? 120_000);

export function validateNodeCount(value: unknown): number {
  const nodes = typeof value === 'string' ? Number(value) : value;
  if (typeof nodes !== 'number' || !Number.isInteger(nodes) || nodes < 1 || nodes > 100) {
    throw new Error(`--nodes must be an integer from 1 to 100, got "${String(value)}"`);
  }
  return nodes;
}

function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

async function apiServerReady(url: string, pki: SandboxPki): Promise<boolean> {
  const result = await tlsGet(`${url}/readyz`, { ca: pki.caCert, cert: pki.admin.cert, key: pki.admin.key });
  return result.status === 200;
}

function runningComponents(state: SandboxState | undefined): ComponentName[] {
  if (!state) return [];
  return componentNames.filter((name) => {
    const component = state.components[name];
    return component !== undefined && isRunning(component.pid, component.bin);
  });
}

async function allocatePorts(): Promise<SandboxPorts> {
  return {
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    apiServer: await freePort(),
    controllerManager: await freePort(),
    scheduler: await freePort(),
    kwok: await freePort(),
  };
}

async function launch(layout: SandboxLayout, state: SandboxState, spec: ComponentLaunch, log: Log): Promise<void> {
  const pid = startProcess({ name: spec.name, bin: spec.bin, args: spec.args, logFile: logFile(layout, spec.name) });
  state.components[spec.name] = { pid, bin: spec.bin, port: spec.port };
  await writeState(layout, state);
  log(`[sandbox] started ${spec.name} (pid ${pid}, 127.0.0.1:${spec.port})`);
}

async function waitForComponent(
  layout: SandboxLayout,
  state: SandboxState,
  name: ComponentName,
  check: () => Promise<boolean>,
): Promise<void> {
  await waitFor(
    `${name} to become ready (log: ${logFile(layout, name)})`,
    async () => {
      const component = state.components[name];
      if (component && !isRunning(component.pid, component.bin)) {
        throw new FatalWaitError(`${name} (pid ${component.pid}) exited during start-up; see ${logFile(layout, name)}`);
      }
      return check();
    },
    startupTimeoutMs,
  );
}

async function writeComponentKubeconfigs(layout: SandboxLayout, pki: SandboxPki, server: string): Promise<void> {
  const base = { server, caFile: pki.caCert };
  const cert = (c: { cert: string; key: string }): { certFile: string; keyFile: string } => ({
    certFile: c.cert,
    keyFile: c.key,
  });
  await writeKubeconfig(layout.adminKubeconfig, { ...base, user: 'sandbox-admin', credentials: cert(pki.admin) });
  await writeKubeconfig(layout.controllerManagerKubeconfig, {
    ...base,
    user: 'kube-controller-manager',
    credentials: cert(pki.controllerManager),
  });
  await writeKubeconfig(layout.schedulerKubeconfig, {
    ...base,
    user: 'kube-scheduler',
    credentials: cert(pki.scheduler),
  });
}

async function startAll(layout: SandboxLayout, pki: SandboxPki, log: Log, startedAt: number): Promise<SandboxState> {
  const bins = await ensureBinaries(['k8s', 'kwok', 'chisel'], log);
  const ports = await allocatePorts();
  const apiServerUrl = `https://127.0.0.1:${ports.apiServer}`;
  const state: SandboxState = {
    name: layout.name,
    startedAt: new Date().toISOString(),
    k8sVersion: sandboxVersions().k8s,
    apiServerUrl,
    etcdPeerPort: ports.etcdPeer,
    components: {},
  };
  const context = { bins, pki, layout, ports };
  await writeFile(path.join(layout.dir, 'audit-policy.yaml'), auditPolicy);
  await launch(layout, state, etcdLaunch(context), log);
  await waitForComponent(layout, state, 'etcd', () => isPortListening(ports.etcdClient));
  await launch(layout, state, apiServerLaunch(context), log);
  await waitForComponent(layout, state, 'kube-apiserver', () => apiServerReady(apiServerUrl, pki));
  log(`[sandbox] kube-apiserver ready after ${elapsed(startedAt)}`);
  await writeComponentKubeconfigs(layout, pki, apiServerUrl);
  await launch(layout, state, controllerManagerLaunch(context), log);
  await launch(layout, state, schedulerLaunch(context), log);
  await launch(layout, state, kwokLaunch(context), log);
  return state;
}

/**
 * Brings the sandbox up and waits until it is usable: API server ready, controllers and scheduler
 * serving, KWOK nodes Ready, the agent's restricted identity minted. Idempotent: a healthy running
 * sandbox is reused; a partly running one is stopped and started again.
 */
export async function up(options: UpOptions = {}): Promise<SandboxInfo> {
  const log = options.log ?? ((line: string): void => console.log(line));
  const nodes = validateNodeCount(options.nodes ?? Number(process.env.PIPEOPS_SANDBOX_NODES ?? 3));
  const startedAt = Date.now();
  const layout = sandboxLayout(options.name);
  await mkdir(layout.logDir, { recursive: true });
  const pki = await ensurePki(layout.pkiDir);
  let state = readState(layout);
  const running = runningComponents(state);
  const healthy =
    state !== undefined &&
    running.length === componentNames.length &&
    (await apiServerReady(state.apiServerUrl, pki).catch(() => false));
  if (!healthy) {
    if (running.length > 0) {
      log(`[sandbox] ${layout.name} is partly running (${running.join(', ')}); restarting it`);
      await stopAll(layout, log);
    }
    state = await startAll(layout, pki, log, startedAt);
  } else {
    log(`[sandbox] ${layout.name} already running at ${state?.apiServerUrl}`);
  }
  if (!state) throw new Error('sandbox state missing after start');
  await bootstrapCluster({ layout, pki, apiServerUrl: state.apiServerUrl, nodes, log, state });
  log(`[sandbox] ${layout.name} ready in ${elapsed(startedAt)} — ${state.apiServerUrl}`);
  return {
    layout,
    state,
    apiServerUrl: state.apiServerUrl,
    adminKubeconfig: layout.adminKubeconfig,
    agentKubeconfig: layout.agentKubeconfig,
    alreadyRunning: healthy,
  };
}

/** The ports a running sandbox was started with, as recorded in its state. */
function recordedPorts(state: SandboxState): SandboxPorts {
  const port = (name: ComponentName): number => state.components[name]?.port ?? 0;
  return {
    etcdClient: port('etcd'),
    etcdPeer: state.etcdPeerPort,
    apiServer: port('kube-apiserver'),
    controllerManager: port('kube-controller-manager'),
    scheduler: port('kube-scheduler'),
    kwok: port('kwok'),
  };
}

/**
 * Stops the running sandbox's kube-apiserver and starts it again with the same flags on the same port
 * (etcd keeps the data), resolving once `/readyz` answers again: clients see a real API server restart in
 * the middle of their watches. `whileDown` runs after the old process has exited.
 */
export async function restartApiServer(
  options: { name?: string; log?: Log; whileDown?: () => Promise<void> } = {},
): Promise<void> {
  const log = options.log ?? ((): void => undefined);
  const layout = sandboxLayout(options.name);
  const state = readState(layout);
  const current = state?.components['kube-apiserver'];
  if (!state || !current || !isRunning(current.pid, current.bin)) {
    throw new Error(`sandbox ${layout.name}: kube-apiserver is not running; start the sandbox with \`up\` first`);
  }
  const pki = await ensurePki(layout.pkiDir);
  const bins = await ensureBinaries(['k8s'], log);
  await stopProcess(current.pid, current.bin);
  log(`[sandbox] stopped kube-apiserver (pid ${current.pid}) for a restart`);
  await options.whileDown?.();
  await launch(layout, state, apiServerLaunch({ bins, pki, layout, ports: recordedPorts(state) }), log);
  await waitForComponent(layout, state, 'kube-apiserver', () => apiServerReady(state.apiServerUrl, pki));
}

async function stopAll(layout: SandboxLayout, log: Log): Promise<string[]> {
  const state = readState(layout);
  const stillListening: string[] = [];
  if (!state) return stillListening;
  for (const name of [...componentNames].reverse()) {
    const component = state.components[name];
    if (!component) continue;
    if (isRunning(component.pid, component.bin)) {
      await stopProcess(component.pid, component.bin);
      log(`[sandbox] stopped ${name} (pid ${component.pid})`);
    }
  }
  const ports = [...Object.values(state.components).map((c) => c.port), state.etcdPeerPort];
  for (const port of ports) if (await isPortListening(port)) stillListening.push(`127.0.0.1:${port}`);
  await rm(layout.stateFile, { force: true });
  return stillListening;
}

/** Stops every process the sandbox started and checks that none of its ports still listens. */
export async function down(options: { name?: string; purge?: boolean; log?: Log } = {}): Promise<void> {
  const log = options.log ?? ((line: string): void => console.log(line));
  const layout = sandboxLayout(options.name);
  const stillListening = await stopAll(layout, log);
  if (stillListening.length > 0) {
    throw new Error(`sandbox stopped but something still listens on ${stillListening.join(', ')}`);
  }
  if (options.purge && existsSync(layout.dir)) {
    await rm(layout.dir, { recursive: true, force: true });
    log(`[sandbox] removed ${layout.dir}`);
  }
  log(`[sandbox] ${layout.name} is down`);
}

export interface ComponentStatus {
  name: ComponentName;
  pid?: number;
  port?: number;
  running: boolean;
}

export interface SandboxStatus {
  name: string;
  dir: string;
  apiServerUrl?: string;
  apiServerReady: boolean;
  components: ComponentStatus[];
}

export async function status(name?: string): Promise<SandboxStatus> {
  const layout = sandboxLayout(name);
  const state = readState(layout);
  const components = componentNames.map((component): ComponentStatus => {
    const entry = state?.components[component];
    return {
      name: component,
      pid: entry?.pid,
      port: entry?.port,
      running: entry !== undefined && isRunning(entry.pid, entry.bin),
    };
  });
  const ready =
    state !== undefined && (await apiServerReady(state.apiServerUrl, pkiPaths(layout.pkiDir)).catch(() => false));
  return { name: layout.name, dir: layout.dir, apiServerUrl: state?.apiServerUrl, apiServerReady: ready, components };
}
