import { describe, expect, it } from 'vitest';
import { deploymentForService, parseServiceHost } from './workload-map';

describe('forward target → workload', () => {
  it('recognises Service DNS names only', () => {
    expect(parseServiceHost('web.dev.svc')).toEqual({ namespace: 'dev', name: 'web' });
    expect(parseServiceHost('web.dev.svc.cluster.local')).toEqual({ namespace: 'dev', name: 'web' });
    expect(parseServiceHost('web.dev.svc.cluster.local.')).toEqual({ namespace: 'dev', name: 'web' });
    expect(parseServiceHost('web.dev')).toBeUndefined();
    expect(parseServiceHost('10.0.0.1')).toBeUndefined();
  });

  it('maps a Service to the managed Deployment its selector picks, in its namespace', () => {
    const deployment = (namespace: string, name: string, labels: Record<string, string>) => ({
      metadata: { namespace, name },
      spec: { selector: {}, template: { metadata: { labels } } },
    });
    const deployments = [
      deployment('dev', 'api', { app: 'api' }),
      deployment('dev', 'web', { app: 'web', tier: 'fe' }),
      deployment('prod', 'web', { app: 'web' }),
    ];
    const service = (selector?: Record<string, string>) => ({
      metadata: { namespace: 'dev', name: 'web' },
      spec: { selector },
    });
    expect(deploymentForService(service({ app: 'web' }), deployments)).toBe('dev/web');
    expect(deploymentForService(service({ app: 'nope' }), deployments)).toBeUndefined();
    expect(deploymentForService(service(undefined), deployments)).toBeUndefined();
  });
});
