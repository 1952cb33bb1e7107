/**
 * Watch clients for the real-process tests: a WebSocket watch stream (the `ws`
 * package that @fastify/websocket brings), and a running program whose output is read
 * while it runs (etcdctl watch, keel watch). Both collect what arrives and let a test
 * wait, with a deadline, until it has what it expects.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { waitFor } from '../harness/index.js';

interface WsSocket {
  on(event: 'message', listener: (data: Buffer) => void): void;
  on(event: 'open' | 'close', listener: () => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  send(data: string): void;
  close(): void;
}

const { WebSocket } = createRequire(import.meta.url)('ws') as { WebSocket: new (url: string) => WsSocket };

/** One message of the WebSocket watch API (see api/watch-routes.ts). */
export type WsMessage = Record<string, unknown> & { type: string; watchId?: number; revision: number };

export class WsWatchStream {
  readonly messages: WsMessage[] = [];
  closed = false;
  private constructor(private readonly socket: WsSocket) {
    socket.on('message', (data) => this.messages.push(JSON.parse(data.toString()) as WsMessage));
    socket.on('close', () => (this.closed = true));
  }

  /** `query`: e.g. `?token=...` for a cluster with auth enabled. */
  static open(baseUrl: string, query = ''): Promise<WsWatchStream> {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/watch/ws${query}`);
    return new Promise((resolve, reject) => {
      socket.on('open', () => resolve(new WsWatchStream(socket)));
      socket.on('error', reject);
    });
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  sendText(text: string): void {
    this.socket.send(text);
  }

  /** Waits until `predicate` holds for the messages received so far. */
  until(predicate: (messages: readonly WsMessage[]) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    return waitFor(async () => predicate(this.messages), {
      timeoutMs,
      what,
      explain: async () => `received: ${JSON.stringify(this.messages).slice(-2000)}${this.closed ? ' (socket closed)' : ''}`,
    }).then(() => undefined);
  }

  close(): void {
    this.socket.close();
  }
}

/** A program running in the background whose standard output is collected as it comes. */
export class RunningProgram {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number) {
    this.child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('utf8')));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code) => {
        clearTimeout(timer);
        resolve(code);
      }),
    );
  }

  /** Waits until the output so far satisfies `predicate`. */
  until(predicate: (stdout: string) => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    return waitFor(async () => predicate(this.stdout), {
      timeoutMs,
      what,
      explain: async () => `stdout: ${this.stdout.slice(-2000)}\nstderr: ${this.stderr.slice(-2000)}`,
    }).then(() => undefined);
  }

  /** Stops the program (SIGINT, as Ctrl-C) and waits for it to end. */
  async stop(): Promise<number | null> {
    this.child.kill('SIGINT');
    return this.exited;
  }
}
