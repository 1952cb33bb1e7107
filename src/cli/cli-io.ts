/**
 * Where client commands write and how they end, injectable so tests can run commands
 * in-process and read what they printed.
 *
 * Exit codes of the client commands (usage errors exit 2, from main.ts):
 *   0 success; 1 `get`: the key does not exist; 3 the request failed, nothing was
 *   written; 4 a write failed and may or may not have been applied (outcome unknown).
 */
export interface CliIo {
  /** Standard output: text, or raw bytes (a value printed by `get`). */
  out(data: string | Uint8Array): void;
  /** Standard error. */
  err(text: string): void;
  setExitCode(code: number): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** All of standard input (for `keel put KEY -`). */
  readStdin(): Promise<Uint8Array>;
  /** Whether stderr is a terminal (progress bars only then). */
  readonly errIsTty: boolean;
}

export const exitCodes = {
  ok: 0,
  notFound: 1,
  usage: 2,
  failed: 3,
  outcomeUnknown: 4,
} as const;

export const processIo: CliIo = {
  out: (data) => {
    process.stdout.write(data);
  },
  err: (text) => {
    process.stderr.write(text);
  },
  setExitCode: (code) => {
    process.exitCode = code;
  },
  env: process.env,
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return new Uint8Array(Buffer.concat(chunks));
  },
  get errIsTty() {
    return process.stderr.isTTY === true;
  },
};

/** An io that records everything, for tests. */
export interface CapturedIo extends CliIo {
  readonly stdout: () => string;
  readonly stdoutBytes: () => Uint8Array;
  readonly stderr: () => string;
  readonly exitCode: () => number;
}

export function captureIo(env: Record<string, string | undefined> = {}, stdin: Uint8Array = new Uint8Array()): CapturedIo {
  const outChunks: Uint8Array[] = [];
  let errText = '';
  let code = 0;
  return {
    out: (data) => {
      outChunks.push(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    },
    err: (text) => {
      errText += text;
    },
    setExitCode: (c) => {
      code = c;
    },
    env,
    readStdin: async () => stdin,
    errIsTty: false,
    stdout: () => Buffer.concat(outChunks).toString('utf8'),
    stdoutBytes: () => new Uint8Array(Buffer.concat(outChunks)),
    stderr: () => errText,
    exitCode: () => code,
  };
}
