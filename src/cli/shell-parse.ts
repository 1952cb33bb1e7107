/**
 * The line language of `keel shell`:
 *
 *   set KEY=VALUE     VALUE is the rest of the line (trimmed), or one quoted string
 *   get KEY           del KEY (or delete)        scan [PREFIX [LIMIT]]
 *   history KEY [N]   record set KEY NAME=VALUE...  record get KEY [FIELD]
 *   record del KEY [FIELD]
 *   status            help                       exit (or quit)
 *
 * Words may be quoted: "double quotes" take \" \\ \n \t escapes, 'single quotes' are
 * literal. Blank lines and lines starting with # do nothing. Parsing is pure, so it is
 * tested on its own.
 */
export type ShellCommand =
  | { readonly kind: 'set'; readonly key: string; readonly value: string }
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'del'; readonly key: string }
  | { readonly kind: 'scan'; readonly prefix: string; readonly limit?: number }
  | { readonly kind: 'history'; readonly key: string; readonly limit?: number }
  | { readonly kind: 'recordSet'; readonly key: string; readonly fields: Readonly<Record<string, string>> }
  | { readonly kind: 'recordGet'; readonly key: string; readonly field?: string }
  | { readonly kind: 'recordDel'; readonly key: string; readonly field?: string }
  | { readonly kind: 'status' }
  | { readonly kind: 'help' }
  | { readonly kind: 'exit' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'error'; readonly message: string };

export const shellHelp = `commands:
  set KEY=VALUE        store VALUE (the rest of the line, or a "quoted string") under KEY
  get KEY              print KEY's value
  del KEY              delete KEY
  scan [PREFIX [N]]    list keys starting with PREFIX (at most N)
  history KEY [N]      KEY's versions, newest first (at most N)
  record set KEY NAME=VALUE...   set fields of a record, atomically
  record get KEY [FIELD]         print a record's fields, or one field
  record del KEY [FIELD]         delete a record, or one field
  status               the state of every node
  help                 this text
  exit                 leave (Ctrl-D too)
quote keys or values with spaces or '=': set "a key"="a value"
`;

class ParseError extends Error {}

interface Word {
  readonly text: string;
  /** Index just past the word in the input. */
  readonly end: number;
}

const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', '0': '\0' };

/** Reads one word at `start` (after skipping spaces); `stopAt` ends an unquoted stretch. */
function readWord(input: string, start: number, stopAt: (char: string) => boolean): Word | undefined {
  let i = start;
  while (i < input.length && /\s/.test(input[i]!)) i++;
  if (i >= input.length || stopAt(input[i]!)) return undefined;
  let text = '';
  while (i < input.length) {
    const char = input[i]!;
    if (/\s/.test(char) || stopAt(char)) break;
    if (char === '"') {
      i++;
      for (;;) {
        if (i >= input.length) throw new ParseError('unterminated "');
        const c = input[i]!;
        if (c === '"') break;
        if (c === '\\') {
          const next = input[i + 1];
          if (next === undefined) throw new ParseError('unterminated "');
          const replaced = escapes[next];
          if (replaced === undefined) throw new ParseError(`unknown escape \\${next}`);
          text += replaced;
          i += 2;
        } else {
          text += c;
          i++;
        }
      }
      i++;
    } else if (char === "'") {
      const close = input.indexOf("'", i + 1);
      if (close < 0) throw new ParseError("unterminated '");
      text += input.slice(i + 1, close);
      i = close + 1;
    } else {
      text += char;
      i++;
    }
  }
  return { text, end: i };
}

function words(input: string, start: number): string[] {
  const out: string[] = [];
  let at = start;
  for (let word = readWord(input, at, () => false); word; word = readWord(input, at, () => false)) {
    out.push(word.text);
    at = word.end;
  }
  return out;
}

function parseSet(line: string, start: number): ShellCommand {
  const key = readWord(line, start, (c) => c === '=');
  let at = key?.end ?? start;
  while (at < line.length && /\s/.test(line[at]!)) at++;
  if (!key || line[at] !== '=') return { kind: 'error', message: 'usage: set KEY=VALUE' };
  if (key.text.length === 0) return { kind: 'error', message: 'the key is empty' };
  const rest = line.slice(at + 1).trim();
  if (rest.startsWith('"') || rest.startsWith("'")) {
    const quoted = readWord(rest, 0, () => false);
    if (quoted && rest.slice(quoted.end).trim() === '') return { kind: 'set', key: key.text, value: quoted.text };
  }
  return { kind: 'set', key: key.text, value: rest };
}

function parseLimit(text: string): number | string {
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || !Number.isSafeInteger(limit)) return `the limit must be a positive integer, not ${text}`;
  return limit;
}

function parseRecord(args: readonly string[]): ShellCommand {
  const [verb, key, ...more] = args;
  const usage: ShellCommand = { kind: 'error', message: 'usage: record set KEY NAME=VALUE... | record get KEY [FIELD] | record del KEY [FIELD]' };
  if (key === undefined || key.length === 0) return usage;
  switch (verb) {
    case 'set': {
      if (more.length === 0) return usage;
      const fields: Record<string, string> = {};
      for (const pair of more) {
        const at = pair.indexOf('=');
        if (at <= 0) return { kind: 'error', message: `expected NAME=VALUE, got ${JSON.stringify(pair)}` };
        fields[pair.slice(0, at)] = pair.slice(at + 1);
      }
      return { kind: 'recordSet', key, fields };
    }
    case 'get':
    case 'del':
    case 'delete': {
      if (more.length > 1) return usage;
      const kind = verb === 'get' ? 'recordGet' : 'recordDel';
      return more.length === 1 ? { kind, key, field: more[0]! } : { kind, key };
    }
    default:
      return usage;
  }
}

export function parseShellLine(line: string): ShellCommand {
  try {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return { kind: 'empty' };
    const verb = /^\S+/.exec(trimmed)![0];
    const rest = trimmed.slice(verb.length);
    switch (verb.toLowerCase()) {
      case 'set':
        return parseSet(rest, 0);
      case 'get':
      case 'del':
      case 'delete': {
        const args = words(rest, 0);
        const kind = verb.toLowerCase() === 'get' ? 'get' : 'del';
        if (args.length !== 1) return { kind: 'error', message: `usage: ${kind} KEY` };
        if (args[0]!.length === 0) return { kind: 'error', message: 'the key is empty' };
        return { kind, key: args[0]! };
      }
      case 'scan': {
        const args = words(rest, 0);
        if (args.length > 2) return { kind: 'error', message: 'usage: scan [PREFIX [LIMIT]]' };
        if (args.length === 2) {
          const limit = parseLimit(args[1]!);
          return typeof limit === 'string' ? { kind: 'error', message: limit } : { kind: 'scan', prefix: args[0]!, limit };
        }
        return { kind: 'scan', prefix: args[0] ?? '' };
      }
      case 'history': {
        const args = words(rest, 0);
        if (args.length < 1 || args.length > 2 || args[0]!.length === 0) return { kind: 'error', message: 'usage: history KEY [LIMIT]' };
        if (args.length === 1) return { kind: 'history', key: args[0]! };
        const limit = parseLimit(args[1]!);
        return typeof limit === 'string' ? { kind: 'error', message: limit } : { kind: 'history', key: args[0]!, limit };
      }
      case 'record':
        return parseRecord(words(rest, 0));
      case 'status':
      case 'help':
      case 'exit':
      case 'quit': {
        if (words(rest, 0).length > 0) return { kind: 'error', message: `${verb} takes no arguments` };
        const kind = verb.toLowerCase();
        return kind === 'quit' ? { kind: 'exit' } : { kind: kind as 'status' | 'help' | 'exit' };
      }
      default:
        return { kind: 'error', message: `unknown command ${JSON.stringify(verb)}; type help` };
    }
  } catch (error) {
    if (error instanceof ParseError) return { kind: 'error', message: error.message };
    throw error;
  }
}
