import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging/logger';
import { AgentMetrics } from '../metrics/agent-metrics';
import { supervise } from './supervise';

describe('supervise', () => {
  it('restarts a loop that throws, logging the stack and counting the restart, until it returns', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    });
    const metrics = new AgentMetrics();
    let runs = 0;
    const result = await supervise(
      'tunnel',
      () => {
        runs += 1;
        if (runs < 3) return Promise.reject(new TypeError(`bad input ${runs}`));
        return Promise.resolve('done');
      },
      {
        logger: createLogger('debug', {}, stream),
        metrics,
        signal: new AbortController().signal,
        backoff: { baseMs: 1, capMs: 2 },
      },
    );
    expect(result).toBe('done');
    expect(runs).toBe(3);
    expect(await metrics.registry.getSingleMetricAsString('pipeops_loop_restarts_total')).toContain(
      'pipeops_loop_restarts_total{loop="tunnel"} 2',
    );
    const failure = lines[0] as { msg: string; err: { stack: string; type: string } };
    expect(failure.msg).toBe('tunnel loop failed unexpectedly; restarting it');
    expect(failure.err.type).toBe('TypeError');
    expect(failure.err.stack).toContain('bad input 1');
  });

  it('stops restarting once aborted and resolves undefined', async () => {
    const abort = new AbortController();
    const result = await supervise(
      'link',
      () => {
        abort.abort();
        return Promise.reject(new Error('after abort'));
      },
      { logger: createLogger('silent', {}), signal: abort.signal },
    );
    expect(result).toBeUndefined();
  });
});
