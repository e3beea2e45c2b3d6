import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger';
import { ReasonLog } from './reason-log';

function reasonLog(now: () => number): { log: ReasonLog; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger('debug', {}, stream);
  return { log: new ReasonLog({ logger, level: 'warn', message: 'failed', repeatEveryMs: 1000, now }), lines };
}

describe('ReasonLog', () => {
  it('logs once per change of reason, with the repeats of the previous one', () => {
    let clock = 0;
    const { log, lines } = reasonLog(() => clock);
    expect(log.report('HTTP 500')).toBe(true);
    expect(log.report('HTTP 500')).toBe(false);
    expect(log.report('HTTP 500')).toBe(false);
    expect(log.report('ECONNREFUSED')).toBe(true);
    expect(lines.map((l) => [l.reason, l.previous_reason, l.previous_reason_repeats])).toEqual([
      ['HTTP 500', undefined, undefined],
      ['ECONNREFUSED', 'HTTP 500', 2],
    ]);
    clock = 1500;
    log.report('ECONNREFUSED');
    expect(lines.at(-1)).toMatchObject({ reason: 'ECONNREFUSED', repeats: 1, level: 'warn', msg: 'failed' });
  });

  it('logs the next failure at once after clear()', () => {
    const { log, lines } = reasonLog(() => 0);
    log.report('a');
    log.clear();
    expect(log.report('a')).toBe(true);
    expect(lines).toHaveLength(2);
  });
});
