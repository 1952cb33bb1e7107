import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  encodeFrame,
  encodeFrames,
  FrameDecoder,
  frameBuffers,
  frameCopyBytesMax,
  frameHeaderBytes,
  framePayload,
  FrameTooLargeError,
  joinParts,
} from './framing.js';

/** Cuts `bytes` at the given points (taken modulo its length). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let last = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(last, point));
    last = point;
  }
  return chunks;
}

test('framing: frames split across or merged within chunks come out whole and in order', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (payloads, cuts) => {
      const stream = encodeFrames(payloads);
      const decoder = new FrameDecoder({ frameBytesMax: 200 });
      const out: Uint8Array[] = [];
      for (const chunk of split(stream, cuts)) for (const frame of decoder.pushAll(chunk)) out.push(frame.slice());
      assert.deepEqual(out, payloads);
      assert.equal(decoder.bufferedBytes, 0);
    }),
    { numRuns: 500 },
  );
});

test('framing: one byte at a time works, including empty payloads', () => {
  const payloads = [new Uint8Array([]), new Uint8Array([1, 2, 3]), new Uint8Array([]), new Uint8Array(70000).fill(5)];
  const stream = encodeFrames(payloads);
  const decoder = new FrameDecoder({ frameBytesMax: 100_000 });
  const out: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i++) out.push(...decoder.pushAll(stream.subarray(i, i + 1)));
  assert.deepEqual(out, payloads);
});

test('framing: the header is a big-endian u32 length', () => {
  assert.deepEqual(encodeFrame(new Uint8Array([9, 8])), new Uint8Array([0, 0, 0, 2, 9, 8]));
  const big = encodeFrame(new Uint8Array(0x010203));
  assert.deepEqual(big.subarray(0, frameHeaderBytes), new Uint8Array([0, 1, 2, 3]));
});

test('framing: a frame over the limit is refused from its header alone, even split, and the decoder stays refused', () => {
  const decoder = new FrameDecoder({ frameBytesMax: 10 });
  assert.deepEqual(decoder.pushAll(encodeFrame(new Uint8Array(10))), [new Uint8Array(10)]);
  // Only the header of an 11-byte frame, in two chunks: refused before the payload arrives.
  assert.deepEqual(decoder.pushAll(new Uint8Array([0, 0])), []);
  assert.throws(
    () => decoder.pushAll(new Uint8Array([0, 11])),
    (error: unknown) => error instanceof FrameTooLargeError && error.frameBytes === 11 && error.frameBytesMax === 10 && /frameBytesMax/.test(error.message),
  );
  assert.throws(() => decoder.pushAll(new Uint8Array([1])), { name: 'AssertionError' });
  // A 4 GiB announcement allocates nothing.
  assert.throws(() => new FrameDecoder({ frameBytesMax: 1024 }).pushAll(new Uint8Array([0xff, 0xff, 0xff, 0xff])), FrameTooLargeError);
});

test('framing: frames before an oversized one in the same chunk are handed out, then it is refused', () => {
  const decoder = new FrameDecoder({ frameBytesMax: 4 });
  const stream = encodeFrames([new Uint8Array([1]), new Uint8Array([2, 2]), new Uint8Array(5)]);
  const seen: Uint8Array[] = [];
  assert.throws(() => decoder.push(stream, (frame) => seen.push(frame.slice())), FrameTooLargeError);
  assert.deepEqual(seen, [new Uint8Array([1]), new Uint8Array([2, 2])]);
});

test('framing: a payload that arrives whole is a view of the chunk; an assembled one is its own buffer', () => {
  const decoder = new FrameDecoder({ frameBytesMax: 100 });
  const chunk = encodeFrame(new Uint8Array([1, 2, 3]));
  const [whole] = decoder.pushAll(chunk);
  assert.equal(whole?.buffer, chunk.buffer);
  const [assembled] = [...decoder.pushAll(chunk.subarray(0, 5)), ...decoder.pushAll(chunk.subarray(5))];
  assert.notEqual(assembled?.buffer, chunk.buffer);
  assert.deepEqual(assembled, new Uint8Array([1, 2, 3]));
});

test('framing: the limit can be raised between frames of one chunk', () => {
  const decoder = new FrameDecoder({ frameBytesMax: 2 });
  const stream = encodeFrames([new Uint8Array([1, 1]), new Uint8Array(100), new Uint8Array(200)]);
  const sizes: number[] = [];
  assert.throws(
    () =>
      decoder.push(stream, (frame) => {
        sizes.push(frame.length);
        decoder.setFrameBytesMax(150);
      }),
    FrameTooLargeError,
  );
  assert.deepEqual(sizes, [2, 100]);
});

test('framing: frameBuffers copies small frames into one buffer and leaves the parts of a large one where they are', () => {
  const large = new Uint8Array(frameCopyBytesMax).fill(7);
  const payloads = [
    framePayload([new Uint8Array([1])]),
    framePayload([new Uint8Array([2, 2])]),
    framePayload([new Uint8Array([5]), large]),
    framePayload([new Uint8Array([3])]),
  ];
  const buffers = frameBuffers(payloads);
  // The two small frames, the large one's header, its two parts, the last small frame.
  assert.equal(buffers.length, 5);
  assert.equal(buffers[3], large);
  const stream = new Uint8Array(buffers.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const buffer of buffers) {
    stream.set(buffer, offset);
    offset += buffer.length;
  }
  const whole = payloads.map(joinParts);
  assert.deepEqual(stream, encodeFrames(whole));
  assert.deepEqual(new FrameDecoder({ frameBytesMax: 1 << 20 }).pushAll(stream), whole);
});
