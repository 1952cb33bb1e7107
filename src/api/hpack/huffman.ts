/**
 * HPACK's Huffman code (RFC 7541 §5.2, Appendix B), decoding only.
 *
 * The code is canonical: given each symbol's code length, codes are handed out in order
 * of length, then of symbol, each one the previous plus one, shifted left when the length
 * grows. So the table below holds only the 257 lengths (octets 0-255, then EOS) and the
 * codes are rebuilt from them once; huffman.test.ts checks the result against codes and
 * examples printed in the RFC.
 */

// biome-ignore format: one row per 16 symbols, as the RFC's table reads.
const codeLengths: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0-15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16-31
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, //         ' ' to '/'
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, //             '0' to '?'
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, //               '@' to 'O'
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, //            'P' to '_'
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, //               '`' to 'o'
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, //           'p' to 127
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
  30, //                                                             EOS
];

const endOfString = 256;
const longestCodeBits = 30;

export interface HuffmanCode {
  readonly symbol: number;
  readonly code: number;
  readonly bits: number;
}

/** Every symbol's code, rebuilt from the lengths (canonical order: by length, then symbol). */
export const huffmanCodes: readonly HuffmanCode[] = (() => {
  const order = codeLengths.map((bits, symbol) => ({ symbol, bits })).sort((a, b) => a.bits - b.bits || a.symbol - b.symbol);
  const codes: HuffmanCode[] = [];
  let code = 0;
  let previousBits = order[0]?.bits ?? 0;
  for (const { symbol, bits } of order) {
    code *= 2 ** (bits - previousBits);
    previousBits = bits;
    codes[symbol] = { symbol, code, bits };
    code += 1;
  }
  return codes;
})();

/** codesByLength[bits] maps a code of that many bits to its symbol. */
const codesByLength: ReadonlyMap<number, number>[] = (() => {
  const maps: Map<number, number>[] = Array.from({ length: longestCodeBits + 1 }, () => new Map<number, number>());
  for (const { symbol, code, bits } of huffmanCodes) maps[bits]?.set(code, symbol);
  return maps;
})();

export class HuffmanError extends Error {}

/**
 * Decodes a Huffman-coded string literal. The padding at the end must be the most
 * significant bits of EOS (all ones) and shorter than a byte; an EOS symbol inside the
 * string is an error (RFC 7541 §5.2).
 */
export function decodeHuffman(bytes: Uint8Array): Buffer {
  const out: number[] = [];
  let code = 0;
  let bits = 0;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit -= 1) {
      code = code * 2 + ((byte >> bit) & 1);
      bits += 1;
      const symbol = codesByLength[bits]?.get(code);
      if (symbol === undefined) {
        if (bits >= longestCodeBits) throw new HuffmanError('HPACK: invalid Huffman code');
        continue;
      }
      if (symbol === endOfString) throw new HuffmanError('HPACK: EOS inside a Huffman-coded string');
      out.push(symbol);
      code = 0;
      bits = 0;
    }
  }
  if (bits > 7 || code !== 2 ** bits - 1) throw new HuffmanError('HPACK: Huffman padding is not a prefix of EOS');
  return Buffer.from(out);
}
