/**
 * The logging interface the runtime uses: pino's calling convention (fields first,
 * then the message), so the CLI can pass a pino logger and tests a silent one.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

type LogMethod = (fields: object, message: string) => void;

export type Logger = Record<LogLevel, LogMethod>;

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
