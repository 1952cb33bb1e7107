/** Small types shared by the transport's files. */

/** Where a peer listens. Tests use 127.0.0.1 only. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured logging: a fixed message and fields that vary. */
export type Log = (level: LogLevel, msg: string, fields?: object) => void;
