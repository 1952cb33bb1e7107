/**
 * Runs async tasks one at a time, in call order. The WAL and the storage facade
 * must never interleave two writes (a save racing a compaction could delete a
 * segment the save is writing to, or write records out of order), even if a
 * caller forgets to await.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    // The next task waits for this one to settle, whether it failed or not.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
