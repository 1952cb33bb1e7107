import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseShellLine } from './shell-parse.js';

describe('shell line parsing', () => {
  const cases: Array<[string, unknown]> = [
    ['set k=v', { kind: 'set', key: 'k', value: 'v' }],
    ['set greeting=hello world', { kind: 'set', key: 'greeting', value: 'hello world' }],
    ['  SET  k =  spaced out  ', { kind: 'set', key: 'k', value: 'spaced out' }],
    ['set k=', { kind: 'set', key: 'k', value: '' }],
    ['set k=a=b', { kind: 'set', key: 'k', value: 'a=b' }],
    ['set "a key"="a value"', { kind: 'set', key: 'a key', value: 'a value' }],
    ["set 'x=y'='single \\n stays'", { kind: 'set', key: 'x=y', value: 'single \\n stays' }],
    ['set k="line\\nbreak \\"quoted\\""', { kind: 'set', key: 'k', value: 'line\nbreak "quoted"' }],
    ['set k="two" "strings"', { kind: 'set', key: 'k', value: '"two" "strings"' }],
    ['set dir/sub/key=1', { kind: 'set', key: 'dir/sub/key', value: '1' }],
    ['get k', { kind: 'get', key: 'k' }],
    ['get "with space"', { kind: 'get', key: 'with space' }],
    ['del k', { kind: 'del', key: 'k' }],
    ['delete k', { kind: 'del', key: 'k' }],
    ['scan', { kind: 'scan', prefix: '' }],
    ['scan app/', { kind: 'scan', prefix: 'app/' }],
    ['scan app/ 10', { kind: 'scan', prefix: 'app/', limit: 10 }],
    ['history k', { kind: 'history', key: 'k' }],
    ['history k 5', { kind: 'history', key: 'k', limit: 5 }],
    [
      'record set user/1 name=Ada "title=first programmer" lang=',
      { kind: 'recordSet', key: 'user/1', fields: { name: 'Ada', title: 'first programmer', lang: '' } },
    ],
    ['record set u a=b=c', { kind: 'recordSet', key: 'u', fields: { a: 'b=c' } }],
    ['record get user/1', { kind: 'recordGet', key: 'user/1' }],
    ['record get user/1 name', { kind: 'recordGet', key: 'user/1', field: 'name' }],
    ['record del user/1', { kind: 'recordDel', key: 'user/1' }],
    ['record delete user/1 name', { kind: 'recordDel', key: 'user/1', field: 'name' }],
    ['status', { kind: 'status' }],
    ['help', { kind: 'help' }],
    ['exit', { kind: 'exit' }],
    ['quit', { kind: 'exit' }],
    ['', { kind: 'empty' }],
    ['   ', { kind: 'empty' }],
    ['# a comment', { kind: 'empty' }],
  ];
  for (const [line, expected] of cases) {
    it(`parses ${JSON.stringify(line)}`, () => assert.deepEqual(parseShellLine(line), expected));
  }

  const errors: Array<[string, RegExp]> = [
    ['set k', /usage: set KEY=VALUE/],
    ['set =v', /usage: set KEY=VALUE/],
    ['set ""=v', /key is empty/],
    ['set k v', /usage: set KEY=VALUE/],
    ['get', /usage: get KEY/],
    ['get a b', /usage: get KEY/],
    ['get ""', /key is empty/],
    ['del', /usage: del KEY/],
    ['scan p 0', /limit must be a positive integer/],
    ['scan p x', /limit must be a positive integer/],
    ['scan a b c', /usage: scan/],
    ['status now', /takes no arguments/],
    ['history', /usage: history KEY/],
    ['history k 0', /limit must be a positive integer/],
    ['record', /usage: record set/],
    ['record set u', /usage: record set/],
    ['record set u novalue', /expected NAME=VALUE/],
    ['record set u =v', /expected NAME=VALUE/],
    ['record get u a b', /usage: record/],
    ['record frob u', /usage: record/],
    ['get "open', /unterminated "/],
    ["get 'open", /unterminated '/],
    ['get "bad\\q"', /unknown escape/],
    ['frobnicate', /unknown command "frobnicate"/],
  ];
  for (const [line, pattern] of errors) {
    it(`refuses ${JSON.stringify(line)}`, () => {
      const parsed = parseShellLine(line);
      assert.equal(parsed.kind, 'error');
      assert.match(parsed.kind === 'error' ? parsed.message : '', pattern);
    });
  }
});
