import { describe, expect, it } from 'vitest';
import {
  encodeGlobalRequest,
  IdentRewriter,
  installSsh2Patches,
  parseChiselChannelOpen,
  pinnedSsh2Version,
  ssh2Version,
} from './ssh-compat';

describe('ssh2 compatibility layer', () => {
  it('runs against exactly the pinned ssh2 (the patches use its private internals)', () => {
    expect(ssh2Version()).toBe(pinnedSsh2Version);
    expect(() => installSsh2Patches()).not.toThrow();
  });

  it("rewrites chisel's banner for ssh2 and keeps the original line", () => {
    const rewriter = new IdentRewriter();
    expect(rewriter.feed(Buffer.from('SSH-chisel-v3'))).toHaveLength(0);
    const out = rewriter.feed(Buffer.from('-server\r\nrest'));
    expect(out.toString()).toBe('SSH-2.0-chisel-v3-server\r\nrest');
    expect(rewriter.original).toBe('SSH-chisel-v3-server');
    expect(rewriter.feed(Buffer.from('more')).toString()).toBe('more');
  });

  it('leaves a standard banner alone', () => {
    const rewriter = new IdentRewriter();
    expect(rewriter.feed(Buffer.from('hello\r\nSSH-2.0-Go\r\n')).toString()).toBe('hello\r\nSSH-2.0-Go\r\n');
    expect(rewriter.original).toBe('SSH-2.0-Go');
  });

  it('encodes global requests with a raw payload', () => {
    const packet = encodeGlobalRequest('config', Buffer.from('{}'));
    expect([...packet]).toEqual([80, 0, 0, 0, 6, ...Buffer.from('config'), 1, ...Buffer.from('{}')]);
  });

  it('parses chisel channel opens with raw host:port data', () => {
    const head = Buffer.alloc(1 + 4 + 6 + 12);
    head[0] = 90;
    head.writeUInt32BE(6, 1);
    head.write('chisel', 5);
    head.writeUInt32BE(3, 11);
    head.writeUInt32BE(2097152, 15);
    head.writeUInt32BE(32768, 19);
    const open = parseChiselChannelOpen(Buffer.concat([head, Buffer.from('localhost:6443')]));
    expect(open).toEqual({ sender: 3, window: 2097152, packetSize: 32768, target: 'localhost:6443' });
    expect(parseChiselChannelOpen(Buffer.concat([head.subarray(0, 5), Buffer.from('session')]))).toBeUndefined();
  });
});
