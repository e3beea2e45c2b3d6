import { describe, expect, it } from 'vitest';
import { compileAuthfile, compilePattern, hasAccess, parseAuth, parseAuthfile, UserTable } from './users';

describe('chisel users and authfile', () => {
  it('splits user:pass at the first colon; no colon means empty credentials', () => {
    expect(parseAuth('user:pa:ss')).toEqual({ name: 'user', password: 'pa:ss' });
    expect(parseAuth('user:')).toEqual({ name: 'user', password: '' });
    expect(parseAuth('nocolon')).toEqual({ name: '', password: '' });
  });

  it('parses the authfile format and matches regexes unanchored', () => {
    const users = parseAuthfile('{"foo:bar": ["^R:0\\\\.0\\\\.0\\\\.0:8000$"], "ping:pong": ["3000"], "root:x": [""]}');
    const foo = users.get('foo');
    const ping = users.get('ping');
    expect(foo && hasAccess(foo, 'R:0.0.0.0:8000')).toBe(true);
    expect(foo && hasAccess(foo, 'R:0.0.0.0:80001')).toBe(false);
    expect(ping && hasAccess(ping, 'R:127.0.0.1:13000')).toBe(true);
    expect(ping && hasAccess(ping, 'R:127.0.0.1:3001')).toBe(false);
    expect(users.get('root')?.password).toBe('x');
  });

  it('treats "" and "*" as allow-all and an empty list as allow-nothing', () => {
    const users = compileAuthfile({ 'a:1': [''], 'b:2': ['*'], 'c:3': [] });
    expect(hasAccess(users.get('a')!, 'R:1.2.3.4:5')).toBe(true);
    expect(hasAccess(users.get('b')!, 'anything')).toBe(true);
    expect(hasAccess(users.get('c')!, 'R:0.0.0.0:8000')).toBe(false);
  });

  it("supports RE2's leading (?i) flag", () => {
    expect(compilePattern('(?i)^r:').test('R:0.0.0.0:1')).toBe(true);
  });

  it('explains every bad authfile', () => {
    expect(() => parseAuthfile('{')).toThrow(/^authfile: invalid JSON: /);
    expect(() => parseAuthfile('[]')).toThrow('authfile: must be a JSON object of "user:pass": ["regex", …]');
    expect(() => parseAuthfile('{"a:b": "x"}')).toThrow('authfile at "a:b": must be an array of regex strings');
    expect(() => parseAuthfile('{"a:b": [1]}')).toThrow(/^authfile at "a:b\.0": /);
    expect(() => parseAuthfile('{"nocolon": [""]}')).toThrow('invalid user "nocolon": expected "user:pass"');
    expect(() => parseAuthfile('{":pass": [""]}')).toThrow('invalid user ":pass"');
    expect(() => parseAuthfile('{"a:b": ["("]}')).toThrow(/^invalid address regex "\(": /);
    expect(() => parseAuthfile('{"a:b": [""], "a:c": [""]}')).toThrow('authfile: user "a" appears more than once');
  });

  it('keeps a live table the control plane can change', () => {
    const table = new UserTable({ 'a:1': [''] });
    expect(table.authenticate('a', '1')?.name).toBe('a');
    expect(table.authenticate('a', '2')).toBeUndefined();
    expect(table.authenticate('b', '1')).toBeUndefined();
    table.add('b:secret', ['^R:127\\.0\\.0\\.1:4000$']);
    expect(table.authenticate('b', 'secret')?.patterns).toEqual(['^R:127\\.0\\.0\\.1:4000$']);
    expect(table.remove('a')).toBe(true);
    expect(table.size).toBe(1);
    expect(() => table.set({ nocolon: [] })).toThrow('invalid user');
    expect(table.toAuthfile()).toEqual({ 'b:secret': ['^R:127\\.0\\.0\\.1:4000$'] });
  });
});
