/**
 * A listener's certificate, key and (optionally) client CA, read from PEM files and
 * read again when a file changes, so a certificate is rotated by replacing its files,
 * without a restart. New connections get the new certificate; open ones keep theirs.
 *
 * Files are polled (their mtime, size and inode) rather than watched with fs.watch:
 * tools replace certificate files by renaming a new file over the old one, which
 * inotify-style watches lose track of, and a poll of three stat calls a second costs
 * nothing. A file that is bad at start is an error naming it; a file that is bad at
 * rotation (half written, key and certificate not matching yet) is reported and the
 * old material stays in force until the files are good again.
 */
import { readFileSync, statSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';

export interface TlsFilePaths {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA whose certificates clients must present; absent: clients are not asked for one. */
  readonly caFile?: string;
}

/** The files' contents, checked: ready for `tls.createSecureContext` or `setSecureContext`. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  /** The certificate's serial number (hex), for logs. */
  readonly serialNumber: string;
}

/** A certificate, key or CA file that cannot be used; `file` names it. */
export class TlsFileError extends Error {
  readonly code = 'TLS_FILE_INVALID';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'TlsFileError';
  }
}

/** Reads and checks the files; throws TlsFileError naming the file at fault. */
export function readTlsMaterial(paths: TlsFilePaths): TlsMaterial {
  const cert = readPem(paths.certFile, 'certificate');
  const key = readPem(paths.keyFile, 'private key');
  const ca = paths.caFile !== undefined ? readPem(paths.caFile, 'CA certificate') : undefined;
  let serialNumber: string;
  try {
    serialNumber = new X509Certificate(cert).serialNumber;
  } catch (error) {
    throw new TlsFileError(paths.certFile, `${paths.certFile} holds no valid PEM certificate: ${(error as Error).message}`);
  }
  try {
    createPrivateKey(key);
  } catch (error) {
    throw new TlsFileError(paths.keyFile, `${paths.keyFile} holds no valid PEM private key: ${(error as Error).message}`);
  }
  if (ca !== undefined && paths.caFile !== undefined) {
    try {
      new X509Certificate(ca);
    } catch (error) {
      throw new TlsFileError(paths.caFile, `${paths.caFile} holds no valid PEM CA certificate: ${(error as Error).message}`);
    }
  }
  try {
    createSecureContext({ cert, key, ...(ca !== undefined ? { ca } : {}) });
  } catch (error) {
    throw new TlsFileError(paths.keyFile, `${paths.keyFile} is not the key of ${paths.certFile}: ${(error as Error).message}`);
  }
  return { cert, key, ...(ca !== undefined ? { ca } : {}), serialNumber };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new TlsFileError(file, `cannot read the ${what} file ${file}: ${(error as Error).message}`);
  }
}

export interface TlsFileWatcherOptions {
  /** How often the files' stat is compared with the last one seen. */
  readonly pollMs?: number;
  /** Told when changed files could not be used (the old material stays). */
  readonly onReloadError: (error: TlsFileError) => void;
  /** Told when new material is in force. */
  readonly onReload?: (material: TlsMaterial) => void;
}

const defaultPollMs = 1_000;

export class TlsFileWatcher {
  private current: TlsMaterial;
  private seen: string;
  private readonly listeners = new Set<(material: TlsMaterial) => void>();
  private readonly timer: NodeJS.Timeout;

  /** Reads the files now (throws TlsFileError if one is bad) and starts polling them. */
  constructor(
    readonly paths: TlsFilePaths,
    private readonly options: TlsFileWatcherOptions,
  ) {
    this.seen = this.fingerprint();
    this.current = readTlsMaterial(paths);
    this.timer = setInterval(() => this.poll(), options.pollMs ?? defaultPollMs);
    this.timer.unref();
  }

  material(): TlsMaterial {
    return this.current;
  }

  /** Calls `listener` with every new material from now on; returns the unsubscribe. */
  onChange(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  private poll(): void {
    const now = this.fingerprint();
    if (now === this.seen) return;
    this.seen = now;
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(this.paths);
    } catch (error) {
      this.options.onReloadError(error instanceof TlsFileError ? error : new TlsFileError(this.paths.certFile, String(error)));
      return;
    }
    this.current = next;
    this.options.onReload?.(next);
    for (const listener of this.listeners) listener(next);
  }

  /** What changes when any of the files is rewritten or replaced. */
  private fingerprint(): string {
    const files = [this.paths.certFile, this.paths.keyFile, ...(this.paths.caFile !== undefined ? [this.paths.caFile] : [])];
    return files
      .map((file) => {
        try {
          const stat = statSync(file);
          return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  }
}
