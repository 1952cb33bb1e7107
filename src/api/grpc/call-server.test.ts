/**
 * The call server on a real loopback socket, against grpc-js's client (what Keel's own
 * client and many etcd clients use) and against Node's HTTP/2 client for what a gRPC
 * client library would not send: every way a call starts, ends and is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, constants } from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { connect as connectTcp, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { credentials, makeGenericClientConstructor, Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { CallServer } from './call-server.js';
import type { CallServerOptions, GrpcMethod } from './call-server.js';
import { GrpcError } from './errors.js';
import { lengthPrefixed } from './length-prefixed.js';
import type { ServerCall } from './server-call.js';

/** Each test waits on the server: a hang is a failure, not a stuck run. */
const bounded = { timeout: 10_000 };

/** Messages are {text}: the bytes are the text itself. */
const codec = {
  decode: (bytes: Buffer) => ({ text: bytes.toString('utf8') }),
  encode: (message: { text?: unknown }) => Buffer.from(String(message.text), 'utf8'),
};

function method(serve: (call: ServerCall) => void, requestStream = false): GrpcMethod {
  return { codec, requestStream, serve };
}

interface Running {
  readonly port: number;
  readonly server: CallServer;
  stop(): Promise<void>;
}

async function serve(methods: Record<string, GrpcMethod>, options: Partial<CallServerOptions> = {}): Promise<Running> {
  const server = new CallServer(new Map(Object.entries(methods)), { requestBytesMax: 1024, idleMs: 60_000, arrivingBytesMax: 4096, ...options });
  const listener = createServer((socket) => server.injectConnection(socket));
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  return {
    port: (listener.address() as AddressInfo).port,
    server,
    stop: async () => {
      listener.close();
      await server.close(0);
    },
  };
}

const identity = (value: Buffer): Buffer => value;
const definition = (path: string, requestStream = false, responseStream = false) => ({
  Call: {
    path,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
});

function unary(port: number, path: string, body: string, metadata = new Metadata()): Promise<string> {
  const Client = makeGenericClientConstructor(definition(path), 'Test');
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
    Call(request: Buffer, metadata: Metadata, callback: (error: ServiceError | null, answer?: Buffer) => void): void;
    close(): void;
  };
  return new Promise<string>((resolve, reject) =>
    client.Call(Buffer.from(body), metadata, (error, answer) => {
      client.close();
      if (error) reject(error);
      else resolve(String(answer));
    }),
  );
}

function failsWith(code: status, details: string | RegExp): (error: unknown) => boolean {
  return (error) => {
    const { code: got, details: text } = error as ServiceError;
    assert.equal(got, code, `code ${got} (${text})`);
    if (typeof details === 'string') assert.equal(text, details);
    else assert.match(text, details);
    return true;
  };
}

interface RawAnswer {
  readonly headers: IncomingHttpHeaders;
  readonly trailers: IncomingHttpHeaders;
  readonly data: Buffer;
}

/** One request through Node's HTTP/2 client, body sent as given, then ended. */
async function raw(port: number, path: string, headers: OutgoingHttpHeaders, body: Buffer[]): Promise<RawAnswer> {
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    const { stream, answer } = request(session, path, headers);
    for (const part of body) stream.write(part);
    stream.end();
    return await answer;
  } finally {
    session.close();
  }
}

/** A request on `session`, its body left to the caller to write and end; its answer once the stream closes. */
function request(session: ClientHttp2Session, path: string, headers: OutgoingHttpHeaders = {}): { stream: ClientHttp2Stream; answer: Promise<RawAnswer> } {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  let answerHeaders: IncomingHttpHeaders = {};
  let trailers: IncomingHttpHeaders = {};
  stream.on('response', (received: IncomingHttpHeaders) => (answerHeaders = received));
  stream.on('trailers', (received: IncomingHttpHeaders) => (trailers = received));
  const answer = once(stream, 'close').then(() => ({ headers: answerHeaders, trailers, data: Buffer.concat(chunks) }));
  return { stream, answer };
}

/** grpc-status and grpc-message of an answer, from its trailers or its one header block. */
function statusOf(answer: RawAnswer): [number, string] {
  const from = answer.trailers['grpc-status'] === undefined ? answer.headers : answer.trailers;
  return [Number(from['grpc-status']), decodeURIComponent(String(from['grpc-message']))];
}

test('a unary call: its handler runs once the request has come, with the metadata; the answer and status OK reach a grpc-js client', bounded, async () => {
  const running = await serve({
    '/test.T/Echo': method((call) => {
      const { token } = call.credentials();
      call.answer({ text: `${(call.request as { text: string }).text} for ${token} from ${call.peer.startsWith('127.0.0.1:') ? 'loopback' : call.peer}` });
    }),
  });
  try {
    const metadata = new Metadata();
    metadata.set('token', 'abc');
    assert.equal(await unary(running.port, '/test.T/Echo', 'hello', metadata), 'hello for abc from loopback');
    const bearer = new Metadata();
    bearer.set('authorization', 'Bearer xyz');
    assert.equal(await unary(running.port, '/test.T/Echo', '', bearer), ' for xyz from loopback');
  } finally {
    await running.stop();
  }
});

test(
  'refusals: an unknown method UNIMPLEMENTED, a request that is not gRPC 415, a message over the limit RESOURCE_EXHAUSTED by its size',
  bounded,
  async () => {
    let ran = 0;
    const running = await serve({ '/test.T/Echo': method((call) => call.answer({ text: String(++ran) })) }, { requestBytesMax: 1024 });
    try {
      await assert.rejects(unary(running.port, '/test.T/Nope', 'x'), failsWith(status.UNIMPLEMENTED, 'unknown method /test.T/Nope'));
      const notGrpc = await raw(running.port, '/test.T/Echo', { 'content-type': 'application/json' }, [Buffer.from('{}')]);
      assert.equal(notGrpc.headers[':status'], 415);
      await assert.rejects(
        unary(running.port, '/test.T/Echo', 'x'.repeat(1025)),
        failsWith(status.RESOURCE_EXHAUSTED, 'the request message is 1025 bytes, over the limit of 1024'),
      );
      assert.equal(ran, 0, 'no handler ran');
      assert.equal(await unary(running.port, '/test.T/Echo', 'x'.repeat(1024)), '1', 'a message at the limit is taken');
    } finally {
      await running.stop();
    }
  },
);

test("requests still arriving: past arrivingBytesMax a connection's next call waits, unread, until an earlier one reaches its handler", bounded, async () => {
  const served: number[] = [];
  const running = await serve(
    {
      '/test.T/Echo': method((call) => {
        const { length } = (call.request as { text: string }).text;
        served.push(length);
        call.answer({ text: `${length} bytes` });
      }),
    },
    { requestBytesMax: 1024, arrivingBytesMax: 1500 },
  );
  const first = connect(`http://127.0.0.1:${running.port}`);
  const second = connect(`http://127.0.0.1:${running.port}`);
  // Client and server share this process: once a PING's answer is back, the server has
  // handled all that was sent before it. (A PING sent before the connection is up is
  // cancelled, not queued.)
  const pinged = (session: ClientHttp2Session) => new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
  /** A call sending a message of `bytes`: whole and ended, whole, or only its first 15 bytes. */
  const send = async (session: ClientHttp2Session, bytes: number, how: 'ended' | 'whole' | 'begun') => {
    const call = request(session, '/test.T/Echo');
    const message = lengthPrefixed(Buffer.alloc(bytes, 'x'));
    if (how === 'ended') call.stream.end(message);
    else call.stream.write(how === 'whole' ? message : message.subarray(0, 15));
    await pinged(session);
    return { ...call, rest: () => call.stream.end(message.subarray(15)) };
  };
  try {
    await Promise.all([once(first, 'connect'), once(second, 'connect')]);
    // A whole request whose call the client has not ended: no handler has it yet.
    const unended = await send(first, 1000, 'whole');
    const within = await send(first, 500, 'ended');
    const past = await send(first, 600, 'begun');
    past.rest();
    await pinged(first);
    const elsewhere = await send(second, 1000, 'ended');
    assert.deepEqual(served, [500, 1000], 'within the bound, and on another connection: served at once; past it: not read');
    assert.deepEqual(statusOf(await within.answer), [status.OK, '']);
    unended.stream.end();
    for (const call of [unended, past, elsewhere]) assert.deepEqual(statusOf(await call.answer), [status.OK, '']);
    assert.deepEqual(served, [500, 1000, 1000, 600], 'the waiting call goes on once the earlier one reached its handler');
  } finally {
    first.close();
    second.close();
    await running.stop();
  }
});

test('streamsMax: a connection is told how many calls it may have open; one more waits until a call ends', bounded, async () => {
  const served: string[] = [];
  const running = await serve(
    {
      '/test.T/Echo': method((call) => {
        const { text } = call.request as { text: string };
        served.push(text);
        call.answer({ text });
      }),
    },
    { streamsMax: 2 },
  );
  const session = connect(`http://127.0.0.1:${running.port}`);
  try {
    const [settings] = (await once(session, 'remoteSettings')) as [{ maxConcurrentStreams?: number }];
    assert.equal(settings.maxConcurrentStreams, 2);
    // Two calls open (their requests not ended), then a third, whole.
    const open = ['a', 'b'].map((text) => {
      const call = request(session, '/test.T/Echo');
      call.stream.write(lengthPrefixed(Buffer.from(text)));
      return call;
    });
    const third = request(session, '/test.T/Echo');
    third.stream.end(lengthPrefixed(Buffer.from('c')));
    const pinged = new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
    await pinged;
    assert.deepEqual(served, [], 'no call has ended: the third has not been sent');
    open[0]?.stream.end();
    assert.deepEqual(statusOf(await (open[0] as { answer: Promise<RawAnswer> }).answer), [status.OK, '']);
    assert.deepEqual(statusOf(await third.answer), [status.OK, '']);
    assert.deepEqual(served, ['a', 'c']);
    open[1]?.stream.end();
    await open[1]?.answer;
  } finally {
    session.close();
    await running.stop();
  }
});

test('a refusal that comes while the client is still sending closes the stream, so the client stops sending', bounded, async () => {
  const running = await serve({ '/test.T/Echo': method((call) => call.answer({ text: 'ok' })) }, { requestBytesMax: 1024 });
  const session = connect(`http://127.0.0.1:${running.port}`);
  try {
    const { stream, answer } = request(session, '/test.T/Echo');
    stream.write(lengthPrefixed(Buffer.alloc(2000)).subarray(0, 15));
    const refused = await answer;
    assert.deepEqual(statusOf(refused), [status.RESOURCE_EXHAUSTED, 'the request message is 2000 bytes, over the limit of 1024']);
    assert.equal(stream.rstCode, constants.NGHTTP2_NO_ERROR);
  } finally {
    session.close();
    await running.stop();
  }
});

test('a connection with nothing arriving is let through one message larger than arrivingBytesMax', bounded, async () => {
  const running = await serve({ '/test.T/Echo': method((call) => call.answer({ text: 'ok' })) }, { requestBytesMax: 1024, arrivingBytesMax: 100 });
  try {
    assert.deepEqual(statusOf(await raw(running.port, '/test.T/Echo', {}, [lengthPrefixed(Buffer.alloc(1000))])), [status.OK, '']);
  } finally {
    await running.stop();
  }
});

test('a unary method takes exactly one message: none, two, or one cut short is refused and its handler never runs', bounded, async () => {
  let ran = 0;
  const running = await serve({ '/test.T/Echo': method((call) => call.answer({ text: String(++ran) })) });
  try {
    const none = await raw(running.port, '/test.T/Echo', {}, []);
    assert.deepEqual(statusOf(none), [status.UNIMPLEMENTED, 'the method takes one request message; none came']);
    const two = await raw(running.port, '/test.T/Echo', {}, [lengthPrefixed(Buffer.from('a')), lengthPrefixed(Buffer.from('b'))]);
    assert.deepEqual(statusOf(two), [status.UNIMPLEMENTED, 'the method takes one request message; a second came']);
    const cut = await raw(running.port, '/test.T/Echo', {}, [lengthPrefixed(Buffer.from('abc')).subarray(0, 6)]);
    assert.deepEqual(statusOf(cut), [status.INTERNAL, 'the request ended inside a message']);
    assert.equal(ran, 0);
  } finally {
    await running.stop();
  }
});

test('a compressed request: gzip and deflate are read, within the limit once decompressed; another encoding is UNIMPLEMENTED', bounded, async () => {
  const running = await serve({ '/test.T/Echo': method((call) => call.answer(call.request)) }, { requestBytesMax: 1024 });
  const compressed = (bytes: Buffer): Buffer => {
    const framed = lengthPrefixed(bytes);
    framed[0] = 1;
    return framed;
  };
  try {
    const gzipped = await raw(running.port, '/test.T/Echo', { 'grpc-encoding': 'gzip' }, [compressed(gzipSync('squeezed'))]);
    assert.deepEqual(statusOf(gzipped), [status.OK, '']);
    assert.equal(gzipped.data.subarray(5).toString(), 'squeezed');
    const deflated = await raw(running.port, '/test.T/Echo', { 'grpc-encoding': 'deflate' }, [compressed(deflateSync('flattened'))]);
    assert.equal(deflated.data.subarray(5).toString(), 'flattened');
    const bomb = await raw(running.port, '/test.T/Echo', { 'grpc-encoding': 'gzip' }, [compressed(gzipSync(Buffer.alloc(100_000)))]);
    assert.deepEqual(statusOf(bomb), [status.RESOURCE_EXHAUSTED, 'the request message decompresses to more than 1024 bytes']);
    const other = await raw(running.port, '/test.T/Echo', { 'grpc-encoding': 'snappy' }, [compressed(Buffer.from('x'))]);
    assert.deepEqual(statusOf(other), [status.UNIMPLEMENTED, 'a compressed request message in unsupported grpc-encoding "snappy"']);
  } finally {
    await running.stop();
  }
});

test('a status message reaches the client as the handler wrote it, whatever its characters', bounded, async () => {
  const message = 'etcdserver: naïve ✓ 100% sure\nsecond line';
  const running = await serve({ '/test.T/Fail': method((call) => call.fail(new GrpcError(status.FAILED_PRECONDITION, message))) });
  try {
    await assert.rejects(unary(running.port, '/test.T/Fail', 'x'), failsWith(status.FAILED_PRECONDITION, message));
  } finally {
    await running.stop();
  }
});

test('the deadline: a call still running when its grpc-timeout passes gets DEADLINE_EXCEEDED, and its handler is told', bounded, async () => {
  let told!: () => void;
  const cancelled = new Promise<void>((resolve) => (told = resolve));
  let late: ServerCall | undefined;
  const running = await serve({
    '/test.T/Slow': method((call) => {
      late = call;
      call.once('cancelled', told);
    }),
  });
  try {
    const answer = await raw(running.port, '/test.T/Slow', { 'grpc-timeout': '100m' }, [lengthPrefixed(Buffer.from('x'))]);
    assert.deepEqual(statusOf(answer), [status.DEADLINE_EXCEEDED, 'Deadline exceeded']);
    await cancelled;
    assert.equal(late?.cancelled, true);
    late?.answer({ text: 'too late' });
    const malformed = await raw(running.port, '/test.T/Slow', { 'grpc-timeout': 'soon' }, [lengthPrefixed(Buffer.from('x'))]);
    assert.deepEqual(statusOf(malformed), [status.INTERNAL, 'malformed grpc-timeout "soon"']);
  } finally {
    await running.stop();
  }
});

test('a client that resets its stream cancels the call; what the handler sends after is dropped', bounded, async () => {
  let started!: (call: ServerCall) => void;
  const call = new Promise<ServerCall>((resolve) => (started = resolve));
  const running = await serve({ '/test.T/Wait': method((c) => started(c)) });
  const session = connect(`http://127.0.0.1:${running.port}`);
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/test.T/Wait', 'content-type': 'application/grpc' });
    stream.on('error', () => {});
    stream.end(lengthPrefixed(Buffer.from('x')));
    const waiting = await call;
    const cancelled = once(waiting, 'cancelled');
    stream.close(0x8); // CANCEL
    await cancelled;
    assert.equal(waiting.cancelled, true);
    assert.equal(waiting.write({ text: 'nobody' }), false);
    waiting.answer({ text: 'nobody' });
    waiting.end();
  } finally {
    session.close();
    await running.stop();
  }
});

test('a bidirectional stream: each request handled in order, answers streamed back, the client half-close ends it', bounded, async () => {
  const running = await serve({
    '/test.T/Chat': method((call) => {
      call.on('data', (request: { text: string }) => call.write({ text: request.text.toUpperCase() }));
      call.on('end', () => call.end());
    }, true),
  });
  const Client = makeGenericClientConstructor(definition('/test.T/Chat', true, true), 'Test');
  const client = new Client(`127.0.0.1:${running.port}`, credentials.createInsecure()) as unknown as {
    Call(): NodeJS.ReadWriteStream & { on(event: 'status', listener: (s: { code: number }) => void): unknown };
    close(): void;
  };
  try {
    const chat = client.Call();
    const answers: string[] = [];
    chat.on('data', (answer: Buffer) => answers.push(String(answer)));
    const ended = once(chat, 'status');
    for (const word of ['one', 'two', 'three']) chat.write(Buffer.from(word));
    chat.end();
    const [final] = (await ended) as [{ code: number }];
    assert.equal(final.code, status.OK);
    assert.deepEqual(answers, ['ONE', 'TWO', 'THREE']);
  } finally {
    client.close();
    await running.stop();
  }
});

/** Resolves with the session's GOAWAY error code. */
function goaway(session: ClientHttp2Session): Promise<number> {
  return new Promise((resolve) => session.once('goaway', (code: number) => resolve(code)));
}

test('a connection with no call running is sent GOAWAY after idleMs; a running call holds it open', bounded, async () => {
  let started!: () => void;
  const holding = new Promise<void>((resolve) => (started = resolve));
  let release!: () => void;
  const running = await serve(
    {
      '/test.T/Hold': method((call) => {
        release = () => call.answer({ text: 'done' });
        started();
      }),
    },
    { idleMs: 150 },
  );
  const busy = connect(`http://127.0.0.1:${running.port}`);
  busy.on('error', () => {});
  let idle: ClientHttp2Session | undefined;
  try {
    await once(busy, 'connect');
    const stream = busy.request({ ':method': 'POST', ':path': '/test.T/Hold', 'content-type': 'application/grpc' });
    stream.end(lengthPrefixed(Buffer.from('x')));
    let away = false;
    const gone = goaway(busy).then((code) => {
      away = true;
      return code;
    });
    await holding;
    // A connection opened after the busy one, with no call, is sent GOAWAY once idle. A
    // timer left running on the busy one would have fired first, and a PING answered on
    // the busy one after that proves no GOAWAY was on its way.
    idle = connect(`http://127.0.0.1:${running.port}`);
    idle.on('error', () => {});
    assert.equal(await goaway(idle), 0);
    await new Promise<void>((resolve, reject) => busy.ping((error) => (error ? reject(error) : resolve())));
    assert.equal(away, false, 'no GOAWAY while a call runs');
    release();
    stream.resume();
    await once(stream, 'close');
    assert.equal(await gone, 0, 'GOAWAY with NO_ERROR once idle');
  } finally {
    busy.destroy();
    idle?.destroy();
    await running.stop();
  }
});

test('close: GOAWAY at once; a running call may finish within the grace, and is cut at its end; a later connection is refused', bounded, async () => {
  let started!: () => void;
  const running = await serve({ '/test.T/Hold': method(() => started()) });
  const session = connect(`http://127.0.0.1:${running.port}`);
  session.on('error', () => {});
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/test.T/Hold', 'content-type': 'application/grpc' });
    stream.on('error', () => {});
    await new Promise<void>((resolve) => {
      started = resolve;
      stream.end(lengthPrefixed(Buffer.from('x')));
    });
    const away = goaway(session);
    const closed = once(stream, 'close');
    const closing = performance.now();
    await running.server.close(300);
    assert.equal(await away, 0);
    await closed;
    assert.ok(performance.now() - closing >= 290, 'the call was given its grace');
    const late = connectTcp(running.port, '127.0.0.1');
    late.on('error', () => {});
    await once(late, 'close');
  } finally {
    session.destroy();
    await running.stop();
  }
});
