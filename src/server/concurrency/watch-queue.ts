/**
 * One watch session of the node, read from inside the node as an async sequence of its
 * messages: how the Lock and Election recipes wait for a key to go (or to change)
 * without polling, on the same watch machinery clients use. It takes one message at a
 * time from the session (the watchers' own bounded queues hold the rest), so a waiter
 * costs bounded memory however much its keys change.
 */
import type { KeyValueNode } from '../node-views.js';
import { KeelError, type StreamMessage, type WatchCreateRequest, type WatchSession } from '../../replica/index.js';

export type QueueWatch = Pick<WatchCreateRequest, 'key' | 'rangeEnd' | 'startRevision' | 'noPut' | 'noDelete'>;

export class WatchQueue {
  private readonly session: WatchSession;
  private readonly messages: StreamMessage[] = [];
  private wake: (() => void) | undefined;
  private nextId = 1;

  constructor(node: Pick<KeyValueNode, 'openWatchSession'>) {
    this.session = node.openWatchSession({
      send: (message) => {
        this.messages.push(message);
        this.wake?.();
      },
      writable: () => this.messages.length === 0,
    });
  }

  /** Starts a watcher; its messages carry the id returned. */
  watch(spec: QueueWatch): number {
    const watchId = this.nextId++;
    this.session.create({ ...spec, watchId, prevKv: false, progressNotify: false });
    return watchId;
  }

  /**
   * The next message of any watcher ('created' ones are skipped). Rejects when `signal`
   * aborts, and with STOPPING when a watcher is canceled because the node stops.
   */
  async next(signal: AbortSignal): Promise<StreamMessage> {
    for (;;) {
      const message = this.messages.shift();
      if (message) {
        this.session.pump();
        if (message.type === 'created') continue;
        if (message.type === 'canceled' && message.code === 'STOPPING') throw new KeelError('STOPPING', message.reason);
        if (message.type === 'createFailed') throw new KeelError('OVERLOADED', `cannot watch: ${message.reason}`);
        return message;
      }
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.wake = undefined;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done);
      });
    }
  }

  close(): void {
    this.session.close();
    this.messages.length = 0;
  }
}
