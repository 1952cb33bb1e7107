// The format of one mutation file (mutations/*.mutation), and how it is applied.
// See docs/internals/mutation-testing.md for the format, with an example.
//
//   name: figure8-commit-old-term          (the file's base name)
//   bug: what is wrong                     (a field may go on over indented lines)
//   source: where the bug comes from
//   catch: what should catch it
//   expect: caught | missed — why          (whether the simulator catches it today)
//   quick: yes                             (optional: part of the --quick subset)
//
//   @@ find src/raft/node.ts
//   ...the exact text to replace; it must occur exactly once in the file...
//   @@ replace
//   ...the text that takes its place (may be empty)...
//   @@ end
//
// Find/replace edits rather than unified diffs: a mutation keeps applying while the
// code around it changes (line numbers, neighbouring lines), and when the code it
// mutates changes it stops applying with a message naming the edit.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const requiredFields = ['name', 'bug', 'source', 'catch', 'expect'];
const knownFields = new Set([...requiredFields, 'quick']);
/** Mutations stay in the consensus core, the WAL and the replica the simulator runs (see the doc for why). */
const allowedPrefixes = ['src/raft/', 'src/storage/', 'src/replica/'];

export class MutationFormatError extends Error {}

/** Parses a mutation file's text; throws MutationFormatError naming the file and problem. */
export function parseMutation(path, text) {
  const fail = (problem) => {
    throw new MutationFormatError(`${path}: ${problem}`);
  };
  const lines = text.split('\n');
  const fields = {};
  let i = 0;
  let lastKey;
  for (; i < lines.length && !lines[i].startsWith('@@'); i++) {
    const line = lines[i];
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (/^\s/.test(line)) {
      if (lastKey === undefined) fail(`line ${i + 1} continues no field`);
      fields[lastKey] += ` ${line.trim()}`;
      continue;
    }
    const match = /^([a-z]+):\s*(.*)$/.exec(line);
    if (!match) fail(`line ${i + 1} is not "field: value": ${line}`);
    const [, key, value] = match;
    if (!knownFields.has(key)) fail(`unknown field "${key}" (known: ${[...knownFields].join(', ')})`);
    if (key in fields) fail(`field "${key}" given twice`);
    fields[key] = value;
    lastKey = key;
  }
  for (const key of requiredFields) if (!fields[key]) fail(`missing field "${key}"`);
  if (fields.name !== basename(path, '.mutation')) fail(`name "${fields.name}" differs from the file name`);
  const expectMatch = /^(caught|missed)\b\W*(.*)$/.exec(fields.expect);
  if (!expectMatch) fail(`expect must start with "caught" or "missed", got "${fields.expect}"`);
  if (expectMatch[1] === 'missed' && expectMatch[2] === '') fail('an expected miss must say why ("expect: missed — reason")');
  if (fields.quick !== undefined && fields.quick !== 'yes') fail(`quick must be "yes" when given, got "${fields.quick}"`);
  if (fields.quick === 'yes' && expectMatch[1] !== 'caught') fail('only a mutation the simulator catches can be in the quick subset');

  const edits = [];
  while (i < lines.length) {
    const header = /^@@ find (\S+)$/.exec(lines[i]);
    if (!header) {
      if (lines[i].trim() === '') {
        i++;
        continue;
      }
      fail(`line ${i + 1}: expected "@@ find <path>", got "${lines[i]}"`);
    }
    const file = header[1];
    if (!allowedPrefixes.some((prefix) => file.startsWith(prefix))) fail(`edits may touch only ${allowedPrefixes.join(', ')}, not ${file}`);
    const find = [];
    const replace = [];
    let part = find;
    let closed = false;
    for (i++; i < lines.length; i++) {
      if (lines[i] === '@@ replace' && part === find) part = replace;
      else if (lines[i] === '@@ end' && part === replace) {
        closed = true;
        i++;
        break;
      } else if (lines[i].startsWith('@@')) fail(`line ${i + 1}: unexpected "${lines[i]}"`);
      else part.push(lines[i]);
    }
    if (!closed) fail(`the edit of ${file} has no "@@ replace" and "@@ end"`);
    if (find.length === 0 || find.join('').trim() === '') fail(`an edit of ${file} finds nothing`);
    edits.push({ file, find: find.join('\n'), replace: replace.join('\n') });
  }
  if (edits.length === 0) fail('no edits ("@@ find <path>" ... "@@ replace" ... "@@ end")');
  return {
    name: fields.name,
    bug: fields.bug,
    source: fields.source,
    catch: fields.catch,
    expect: expectMatch[1],
    expectReason: expectMatch[2],
    quick: fields.quick === 'yes',
    edits,
  };
}

export class MutationApplyError extends Error {}

/** Applies the mutation's edits to the copy of the repository at `root`. */
export function applyMutation(mutation, root) {
  mutation.edits.forEach((edit, n) => {
    const { path, text, first } = locate(mutation, edit, n, root);
    writeFileSync(path, text.slice(0, first) + edit.replace + text.slice(first + edit.find.length));
  });
}

/** Throws MutationApplyError, as applyMutation would, for an edit that no longer applies to `root`; writes nothing. */
export function checkMutation(mutation, root) {
  mutation.edits.forEach((edit, n) => locate(mutation, edit, n, root));
}

/** The edit's file and where its find text is; it must occur exactly once. */
function locate(mutation, edit, n, root) {
  const path = join(root, edit.file);
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new MutationApplyError(`${mutation.name}: edit ${n + 1} targets ${edit.file}, which does not exist`);
  }
  const first = text.indexOf(edit.find);
  const count = first < 0 ? 0 : text.split(edit.find).length - 1;
  if (count !== 1) {
    throw new MutationApplyError(
      `${mutation.name}: edit ${n + 1} no longer applies: its find text occurs ${count} times in ${edit.file} (it must occur once); ` +
        'update mutations/' +
        mutation.name +
        '.mutation to the code as it is now',
    );
  }
  return { path, text, first };
}
