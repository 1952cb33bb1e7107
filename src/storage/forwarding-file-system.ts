/**
 * A FileSystem that hands every call to another one: the base of the wrappers that
 * change only a few calls (faulty-disk.ts stalls syncs or holds writes; the simulator
 * delays syncs by simulated steps), so that each of them says only what it changes.
 */
import type { FileHandle, FileSystem, OpenMode } from './file-system.js';

/** A handle's calls, bound to it, so that a wrapper may spread it and replace a few. */
export function forwardingHandle(handle: FileHandle): FileHandle {
  return {
    path: handle.path,
    write: (data, position) => handle.write(data, position),
    writeDurably: (data, position) => handle.writeDurably(data, position),
    read: (position, length) => handle.read(position, length),
    readSync: (position, length) => handle.readSync(position, length),
    size: () => handle.size(),
    truncate: (length) => handle.truncate(length),
    allocate: (bytes) => handle.allocate(bytes),
    datasync: () => handle.datasync(),
    sync: () => handle.sync(),
    close: () => handle.close(),
  };
}

export class ForwardingFileSystem implements FileSystem {
  constructor(protected readonly inner: FileSystem) {}

  open(path: string, mode: OpenMode): Promise<FileHandle> {
    return this.inner.open(path, mode);
  }

  readFile(path: string, into?: Uint8Array): Promise<Uint8Array> {
    return this.inner.readFile(path, into);
  }

  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }

  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }

  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }

  syncDir(dir: string): Promise<void> {
    return this.inner.syncDir(dir);
  }

  mkdirp(dir: string): Promise<void> {
    return this.inner.mkdirp(dir);
  }
}
