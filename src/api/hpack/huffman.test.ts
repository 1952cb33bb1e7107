import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeHuffman, huffmanCodes, HuffmanError } from './huffman.js';

test('the codes rebuilt from the lengths are the ones RFC 7541 Appendix B prints', () => {
  // [symbol, code as hex, length] rows copied from the RFC's table, from every length band.
  const printed: [number, number, number][] = [
    [0, 0x1ff8, 13],
    [1, 0x7fffd8, 23],
    [10, 0x3ffffffc, 30],
    [32, 0x14, 6],
    [47, 0x18, 6],
    [48, 0x0, 5],
    [58, 0x5c, 7],
    [60, 0x7ffc, 15],
    [92, 0x7fff0, 19],
    [97, 0x3, 5],
    [116, 0x9, 5],
    [126, 0x1ffd, 13],
    [127, 0xffffffc, 28],
    [153, 0x1fffdc, 21],
    [199, 0x1ffffec, 25],
    [203, 0x7ffffde, 27],
    [249, 0xffffffe, 28],
    [255, 0x3ffffee, 26],
    [256, 0x3fffffff, 30],
  ];
  for (const [symbol, code, bits] of printed) {
    assert.deepEqual(huffmanCodes[symbol], { symbol, code, bits }, `symbol ${symbol}`);
  }
  // A complete prefix code: the Kraft sum is exactly one.
  assert.equal(
    huffmanCodes.reduce((sum, { bits }) => sum + 2 ** -bits, 0),
    1,
  );
});

test('decodes the Huffman-coded strings of RFC 7541 Appendix C', () => {
  const examples: [string, string][] = [
    ['f1e3c2e5f23a6ba0ab90f4ff', 'www.example.com'],
    ['a8eb10649cbf', 'no-cache'],
    ['25a849e95ba97d7f', 'custom-key'],
    ['25a849e95bb8e8b4bf', 'custom-value'],
  ];
  for (const [hex, text] of examples) assert.equal(decodeHuffman(Buffer.from(hex, 'hex')).toString('latin1'), text);
});

test('refuses padding that is not a prefix of EOS, padding of a byte or more, and EOS itself', () => {
  // 'a' is 00011; padded with zeros instead of ones.
  assert.throws(() => decodeHuffman(Buffer.from([0b00011000])), HuffmanError);
  // 'a' then a whole byte of ones.
  assert.throws(() => decodeHuffman(Buffer.from([0b00011111, 0xff])), HuffmanError);
  // EOS (30 ones) and two bits of padding.
  assert.throws(() => decodeHuffman(Buffer.from([0xff, 0xff, 0xff, 0xff])), HuffmanError);
  assert.equal(decodeHuffman(Buffer.from([0b00011111])).toString(), 'a');
});
