/**
 * Resolves once every promise that can settle without outside input has: a
 * setImmediate callback runs only after the microtask queue is empty, and the
 * replica's simulated ports (in-memory file system and store, deferred tasks and
 * fsyncs queued on the host) complete in microtasks or wait for the simulation. So
 * this is deterministic, unlike a timer: the only macrotask the simulation uses.
 */
export function settleMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
