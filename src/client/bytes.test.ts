import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bytesField, needsBatchRoute, percentEncode, readBytesField, utf8OrUndefined } from './bytes.js';

describe('bytes', () => {
  it('percent-encodes every reserved character, slash included', () => {
    assert.equal(percentEncode('a/b c?d#e%f&g=h+i'), 'a%2Fb%20c%3Fd%23e%25f%26g%3Dh%2Bi');
    assert.equal(percentEncode("it's(*)!"), 'it%27s%28%2A%29%21');
    assert.equal(percentEncode('ü'), '%C3%BC');
    assert.equal(percentEncode('A-z_0.9~'), 'A-z_0.9~');
    assert.equal(percentEncode(new Uint8Array([0x61, 0x00, 0xff, 0x2f])), 'a%00%FF%2F');
  });

  it('encodes a string and its UTF-8 bytes the same way', () => {
    const text = 'key/ü 日本?';
    assert.equal(percentEncode(new TextEncoder().encode(text)), percentEncode(text));
  });

  it('uses the Base64 field only for bytes that are not UTF-8', () => {
    assert.deepEqual(bytesField('value', 'hi'), { value: 'hi' });
    assert.deepEqual(bytesField('value', new Uint8Array([0x68, 0x69])), { value: 'hi' });
    assert.deepEqual(bytesField('value', new Uint8Array([0xff])), { valueBase64: '/w==' });
    assert.deepEqual(readBytesField({ valueBase64: '/w==' }, 'value'), new Uint8Array([0xff]));
    assert.deepEqual(readBytesField({ value: 'ü' }, 'value'), new Uint8Array([0xc3, 0xbc]));
    assert.equal(readBytesField({}, 'value'), undefined);
    assert.equal(utf8OrUndefined(new Uint8Array([0xc3, 0x28])), undefined);
  });

  it('routes dot segments and non-UTF-8 keys through /batch', () => {
    for (const key of ['.', '..', new Uint8Array([0x2e]), new Uint8Array([0xff])]) assert.equal(needsBatchRoute(key), true);
    for (const key of ['...', '.a', 'a.', 'a/..', new Uint8Array([0x61])]) assert.equal(needsBatchRoute(key), false);
  });
});
