import { afterEach, describe, expect, it, vi } from 'vitest';
import { binaryPaths, cacheDir, parseVersionsEnv, sandboxVersions } from './versions';

const sample = `# comment\nK8S_VERSION=1.36.3\n\nETCD_VERSION=3.6.8\nKWOK_VERSION=0.8.0\nCHISEL_VERSION=1.11.3\n`;

describe('versions.env', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('parses the pinned versions and skips comments and blank lines', () => {
    expect(parseVersionsEnv(sample)).toEqual({ k8s: '1.36.3', etcd: '3.6.8', kwok: '0.8.0', chisel: '1.11.3' });
  });

  it('lets the environment override a pin, as the build script does', () => {
    vi.stubEnv('KWOK_VERSION', '0.7.0');
    expect(parseVersionsEnv(sample).kwok).toBe('0.7.0');
  });

  it('names the key and the bad value when a version is malformed', () => {
    expect(() => parseVersionsEnv(sample.replace('1.36.3', 'latest'))).toThrow(
      'versions.env: K8S_VERSION must be a version like 1.2.3, got "latest"',
    );
    expect(() => parseVersionsEnv('K8S_VERSION=1.2.3')).toThrow(/ETCD_VERSION must be a version/);
    expect(() => parseVersionsEnv('just words')).toThrow('versions.env: expected KEY=VALUE, got "just words"');
  });

  it('reads the repository file, which pins one Kubernetes release for all control-plane binaries', () => {
    const versions = sandboxVersions();
    const paths = binaryPaths(versions);
    for (const bin of [paths.kubeApiserver, paths.kubeControllerManager, paths.kubeScheduler, paths.kubectl]) {
      expect(bin).toContain(`k8s-v${versions.k8s}`);
    }
  });

  it('keeps the cache outside the repository and honours PIPEOPS_CACHE_DIR', () => {
    expect(cacheDir().startsWith(process.cwd())).toBe(false);
    vi.stubEnv('PIPEOPS_CACHE_DIR', '/tmp/pipeops-cache');
    expect(binaryPaths().chisel).toMatch(/^\/tmp\/pipeops-cache\/bin\/chisel-v[\d.]+\/chisel$/);
  });
});
