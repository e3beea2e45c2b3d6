import { describe, expect, it } from 'vitest';
import {
  apiServerLaunch,
  controllerManagerLaunch,
  etcdLaunch,
  kwokLaunch,
  schedulerLaunch,
  type SandboxPorts,
} from './components';
import { pkiPaths } from './pki';
import { sandboxLayout } from './state';
import { binaryPaths } from './versions';

const ports: SandboxPorts = {
  etcdClient: 41001,
  etcdPeer: 41002,
  apiServer: 41003,
  controllerManager: 41004,
  scheduler: 41005,
  kwok: 41006,
};
const context = { bins: binaryPaths(), pki: pkiPaths('/tmp/pki'), layout: sandboxLayout('unit'), ports };
const launches = [etcdLaunch, apiServerLaunch, controllerManagerLaunch, schedulerLaunch, kwokLaunch].map((f) =>
  f(context),
);

describe('sandbox component command lines', () => {
  it('bind every listener to loopback only', () => {
    for (const launch of launches) {
      const text = launch.args.join(' ');
      expect(text, launch.name).not.toMatch(/(^|[^\d.])0\.0\.0\.0|\[::\]/);
      const addresses = text.match(/\b\d{1,3}(?:\.\d{1,3}){3}:\d+/g) ?? [];
      for (const address of addresses) expect(address, launch.name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it('turns on RBAC, TLS and client-certificate authentication on the API server', () => {
    const args = apiServerLaunch(context).args;
    expect(args).toContain('--authorization-mode=Node,RBAC');
    expect(args).toContain(`--client-ca-file=${context.pki.caCert}`);
    expect(args).toContain(`--tls-cert-file=${context.pki.servingCert}`);
    expect(args).toContain('--bind-address=127.0.0.1');
    expect(args).toContain('--secure-port=41003');
    expect(args.some((a) => a.startsWith('--insecure'))).toBe(false);
  });

  it('points etcd clients, controllers and KWOK at the ports allocated for this sandbox', () => {
    expect(apiServerLaunch(context).args).toContain('--etcd-servers=http://127.0.0.1:41001');
    expect(controllerManagerLaunch(context).args).toContain('--secure-port=41004');
    expect(schedulerLaunch(context).args).toContain('--secure-port=41005');
    expect(kwokLaunch(context).args).toContain('--server-address=127.0.0.1:41006');
    expect(kwokLaunch(context).args).toContain(`--config=${context.bins.kwokStages}`);
  });
});
