import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogContext } from './logger';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, stream };
}

describe('agent logger', () => {
  it('writes JSON lines carrying agent_id and cluster_id once they are known', () => {
    const { lines, stream } = capture();
    const context: LogContext = {};
    const logger = createLogger('info', context, stream);
    logger.info('before');
    context.agent_id = 'agent-1';
    context.cluster_id = 'cluster-9';
    logger.child({ component: 'heartbeat' }).info('after');
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'before' });
    expect(lines[0]).not.toHaveProperty('agent_id');
    expect(lines[1]).toMatchObject({
      msg: 'after',
      agent_id: 'agent-1',
      cluster_id: 'cluster-9',
      component: 'heartbeat',
    });
  });

  it('censors credentials wherever they appear', () => {
    const { lines, stream } = capture();
    const logger = createLogger('info', {}, stream);
    logger.info({ token: 'abc', headers: { authorization: 'Bearer abc' }, body: { k8s_service_token: 'abc' } }, 'x');
    expect(JSON.stringify(lines[0])).not.toContain('abc');
  });
});
