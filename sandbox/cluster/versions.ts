import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SandboxVersions {
  k8s: string;
  etcd: string;
  kwok: string;
  chisel: string;
  /** Renders the Helm chart in tests; optional so older versions.env files (and fixtures) still parse. */
  helm?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** Parses versions.env, the single place the Go-built peers are pinned (the build script reads it too). */
export function parseVersionsEnv(text: string): SandboxVersions {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new Error(`versions.env: expected KEY=VALUE, got "${trimmed}"`);
    values.set(trimmed.slice(0, eq), trimmed.slice(eq + 1));
  }
  const pick = (key: string): string => {
    const value = process.env[key] ?? values.get(key);
    if (!value || !/^\d+\.\d+\.\d+$/.test(value)) {
      throw new Error(`versions.env: ${key} must be a version like 1.2.3, got "${value ?? ''}"`);
    }
    return value;
  };
  const helm = process.env.HELM_VERSION ?? values.get('HELM_VERSION');
  return {
    k8s: pick('K8S_VERSION'),
    etcd: pick('ETCD_VERSION'),
    kwok: pick('KWOK_VERSION'),
    chisel: pick('CHISEL_VERSION'),
    ...(helm === undefined ? {} : { helm: pick('HELM_VERSION') }),
  };
}

export function sandboxVersions(): SandboxVersions {
  return parseVersionsEnv(readFileSync(path.join(here, 'versions.env'), 'utf8'));
}

/** Cache root outside the repo; the build script computes the same path. */
export function cacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache');
  return process.env.PIPEOPS_CACHE_DIR ?? path.join(xdg, 'pipeops-agent');
}

export interface BinaryPaths {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  kwokStages: string;
  chisel: string;
  /** Empty when versions.env pins no helm. */
  helm: string;
}

export function binaryPaths(versions: SandboxVersions = sandboxVersions()): BinaryPaths {
  const bin = path.join(cacheDir(), 'bin');
  const k8s = path.join(bin, `k8s-v${versions.k8s}`);
  const kwok = path.join(bin, `kwok-v${versions.kwok}`);
  return {
    etcd: path.join(k8s, 'etcd'),
    kubeApiserver: path.join(k8s, 'kube-apiserver'),
    kubeControllerManager: path.join(k8s, 'kube-controller-manager'),
    kubeScheduler: path.join(k8s, 'kube-scheduler'),
    kubectl: path.join(k8s, 'kubectl'),
    kwok: path.join(kwok, 'kwok'),
    kwokStages: path.join(kwok, 'stages.yaml'),
    chisel: path.join(bin, `chisel-v${versions.chisel}`, 'chisel'),
    helm: versions.helm ? path.join(bin, `helm-v${versions.helm}`, 'helm') : '',
  };
}

export const buildScript = path.join(here, 'build-binaries.sh');
