import type { CoreV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { classifyRegistrations, validateState, type DoctorTarget } from './checks';
import { formatLines, line, summarize } from './report';

const now = Date.parse('2026-11-22T12:00:00Z');
const target: DoctorTarget = {
  namespace: 'pipeops-system',
  configMapName: 'pipeops-agent-state',
  secretName: 'pipeops-agent-secrets',
  leaseName: 'pipeops-agent-leader',
  leaderElection: true,
  stateEnabled: true,
};

function event(reason: string, minutesAgo: number): CoreV1Event {
  const at = new Date(now - minutesAgo * 60_000);
  return { metadata: {}, involvedObject: {}, reason, lastTimestamp: at };
}

describe('re-registration counting', () => {
  it('accepts a rollout: one fresh registration and a few resumes', () => {
    const events = [event('AgentRegistered', 50), event('AgentReregistered', 20), event('AgentReregistered', 5)];
    expect(classifyRegistrations(events, now)).toEqual(
      line('OK', 'registrations', 'last hour: 1 fresh registration(s), 2 re-registration(s)'),
    );
  });

  it('flags a loop of re-registrations within the hour, ignoring older ones', () => {
    const events = [
      ...Array.from({ length: 6 }, (_, i) => event('AgentReregistered', i * 5)),
      event('AgentReregistered', 90),
    ];
    expect(classifyRegistrations(events, now)).toMatchObject({
      status: 'FAIL',
      message: expect.stringContaining('6 re-registration(s): a re-registration loop'),
    });
  });

  it('flags lost identity: more than one fresh registration means a new cluster each time', () => {
    const result = classifyRegistrations([event('AgentRegistered', 30), event('AgentRegistered', 2)], now);
    expect(result).toMatchObject({ status: 'FAIL', message: expect.stringContaining('identity is being lost') });
  });
});

describe('state ConfigMap validation', () => {
  const configMap = (data: Record<string, string>): { data: Record<string, string> } => ({ data });

  it('accepts a generated agent_id with cluster ids', () => {
    const lines = validateState(
      configMap({ agent_id: 'agent-0123abcd-4567-89ef-0123-456789abcdef', cluster_id: 'c-1', cluster_uuid: 'u-1' }),
      target,
    );
    expect(lines.map((l) => l.status)).toEqual(['OK', 'OK']);
  });

  it('fails on a missing ConfigMap, a missing agent_id and a token stored in it', () => {
    expect(validateState(undefined, target)[0]).toMatchObject({
      status: 'FAIL',
      hint: expect.stringContaining('doctor --fix'),
    });
    const lines = validateState(configMap({ cluster_id: 'c-1', token: 'x' }), target);
    expect(lines.map((l) => `${l.status} ${l.message}`)).toEqual([
      'FAIL ConfigMap pipeops-system/pipeops-agent-state has no agent_id',
      'WARN ConfigMap pipeops-system/pipeops-agent-state has cluster_id c-1 but no cluster_uuid',
      'FAIL ConfigMap pipeops-system/pipeops-agent-state holds secret-looking keys (token)',
    ]);
  });

  it('warns when persistence is off or the id was set by hand', () => {
    expect(validateState(undefined, { ...target, stateEnabled: false })[0]?.status).toBe('WARN');
    expect(validateState(configMap({ agent_id: 'my-agent' }), target)[0]?.message).toContain(
      'not the generated agent-<uuid> form',
    );
  });
});

describe('report', () => {
  it('prints one greppable line per finding and exits 1 only on FAIL', () => {
    const lines = [line('OK', 'rbac', 'fine'), line('WARN', 'lease', 'no holder', 'start the agent')];
    expect(formatLines(lines)).toBe(
      'OK    rbac           fine\nWARN  lease          no holder\n                     → start the agent',
    );
    expect(summarize(lines)).toEqual({ text: '1 ok, 1 warning(s), 0 failure(s)', exitCode: 0 });
    expect(summarize([...lines, line('FAIL', 'state', 'x')]).exitCode).toBe(1);
  });
});
