/**
 * One fixed conversation with etcd's JSON gateway: every gateway path Keel serves, its
 * zero values, its errors, and the watch and lease-keepalive streams. It is played
 * against a real etcd 3.4 to record the answers (record-etcd-gateway.ts writes them to
 * fixtures/etcd-gateway.json) and against Keel by etcd-gateway-golden.test.ts, which
 * compares Keel's answers with the recorded ones, text for text, after normalise().
 *
 * Lease ids are given by the requests, so they are the same on both servers; what a
 * server picks on its own (cluster and member ids, terms, sizes, hashes, names and URLs)
 * is replaced by a placeholder, kept only where the field is present, so that a field
 * one server leaves out and the other sends still differs.
 */

export interface Post {
  readonly path: string;
  /** Sent as is: etcd's documentation posts with curl -d (no JSON content type). */
  readonly body: object;
}

export interface UnaryStep extends Post {
  readonly name: string;
  /** A body built from the answers so far (an id the server chose), instead of `body`. */
  readonly bodyFrom?: (answers: readonly Recorded[]) => object;
  /** Fields of this answer that vary between runs of the same server (a lease's remaining TTL). */
  readonly varying?: readonly string[];
  /** Top-level fields Keel sends that etcd 3.4 does not (each listed in docs/reference/etcd-compatibility.md). */
  readonly keelAdds?: readonly string[];
  /** Text Keel's normalised answer holds where etcd 3.4's does not (a bug of etcd 3.4's, documented there too). */
  readonly keelAddsText?: string;
}

/** A watch stream: its request, then writes, each followed by the stream lines it must bring. */
export interface WatchStep {
  readonly name: string;
  readonly watch: object;
  /** Lines the stream sends before any write (the `created` answer, history). */
  readonly firstLines: number;
  readonly writes: readonly { readonly post: Post; readonly lines: number }[];
  readonly varying?: readonly string[];
}

export type Step = UnaryStep | WatchStep;

export interface Recorded {
  readonly name: string;
  readonly request: Post | { readonly path: '/v3/watch'; readonly body: object; readonly writes: readonly Post[] };
  readonly status: number;
  /** The answer's text; a stream's lines, one per element. */
  readonly text: string | readonly string[];
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const put = (key: string, value: string, extra: object = {}): Post => ({ path: '/v3/kv/put', body: { key: b64(key), value: b64(value), ...extra } });
// Keel's ids stay below 2^53 (docs/reference/etcd-compatibility.md), so these do too.
const leaseId = '4503599627370497';
const otherLeaseId = '4503599627370498';

export const scenario: readonly Step[] = [
  { name: 'put', ...put('gw/a', '1') },
  { name: 'put with prev_kv', ...put('gw/a', '2', { prev_kv: true }) },
  { name: 'put of a new key with prev_kv (none)', ...put('gw/b', '', { prev_kv: true }) },
  { name: 'put with ignore_value on a missing key', ...put('gw/missing', '', { ignore_value: true }) },
  { name: 'put without a key', path: '/v3/kv/put', body: { value: b64('v') } },
  { name: 'range of one key', path: '/v3/kv/range', body: { key: b64('gw/a') } },
  { name: 'range of a missing key', path: '/v3/kv/range', body: { key: b64('gw/none') } },
  { name: 'range of a prefix with a limit', path: '/v3/kv/range', body: { key: b64('gw/'), range_end: b64('gw0'), limit: 1 } },
  { name: 'range with a negative limit', path: '/v3/kv/range', body: { key: b64('gw/'), range_end: b64('gw0'), limit: -1 } },
  { name: 'range whose end is before its key', path: '/v3/kv/range', body: { key: b64('gw/b'), range_end: b64('gw/a') } },
  { name: 'range count_only', path: '/v3/kv/range', body: { key: b64('gw/'), range_end: b64('gw0'), count_only: true } },
  { name: 'range keys_only', path: '/v3/kv/range', body: { key: b64('gw/'), range_end: b64('gw0'), keys_only: true } },
  {
    name: 'range sorted by mod revision, descending',
    path: '/v3/kv/range',
    body: { key: b64('gw/'), range_end: b64('gw0'), sort_order: 'DESCEND', sort_target: 'MOD' },
  },
  { name: 'range at an old revision', path: '/v3/kv/range', body: { key: b64('gw/a'), revision: 2 } },
  { name: 'range at a future revision', path: '/v3/kv/range', body: { key: b64('gw/a'), revision: 1000 } },
  { name: 'deleterange of a missing key', path: '/v3/kv/deleterange', body: { key: b64('gw/none') } },
  {
    name: 'txn that succeeds',
    path: '/v3/kv/txn',
    body: {
      compare: [{ key: b64('gw/a'), target: 'VALUE', result: 'EQUAL', value: b64('2') }],
      success: [{ request_put: { key: b64('gw/c'), value: b64('3') } }, { request_range: { key: b64('gw/a') } }],
      failure: [{ request_range: { key: b64('gw/a') } }],
    },
  },
  {
    name: 'txn that fails',
    path: '/v3/kv/txn',
    body: {
      compare: [{ key: b64('gw/none'), target: 'VERSION', result: 'GREATER', version: 0 }],
      success: [{ request_put: { key: b64('gw/d'), value: b64('4') } }],
      failure: [{ request_delete_range: { key: b64('gw/none') } }, { request_range: { key: b64('gw/none') } }],
    },
  },
  {
    name: 'txn with one key twice',
    path: '/v3/kv/txn',
    body: { success: [{ request_put: { key: b64('gw/a'), value: b64('x') } }, { request_put: { key: b64('gw/a'), value: b64('y') } }] },
  },
  { name: 'lease grant with an id', path: '/v3/lease/grant', body: { TTL: 600, ID: leaseId } },
  { name: 'lease grant of an existing id', path: '/v3/lease/grant', body: { TTL: 600, ID: leaseId } },
  { name: 'put on a lease', ...put('gw/leased', 'l', { lease: leaseId }) },
  { name: 'lease timetolive with keys', path: '/v3/lease/timetolive', body: { ID: leaseId, keys: true }, varying: ['TTL'] },
  { name: 'lease timetolive (kv path)', path: '/v3/kv/lease/timetolive', body: { ID: leaseId }, varying: ['TTL'] },
  { name: 'lease leases', path: '/v3/lease/leases', body: {} },
  { name: 'lease leases (kv path)', path: '/v3/kv/lease/leases', body: {} },
  { name: 'lease keepalive', path: '/v3/lease/keepalive', body: { ID: leaseId } },
  { name: 'lease revoke', path: '/v3/lease/revoke', body: { ID: leaseId } },
  { name: 'lease timetolive of a revoked lease', path: '/v3/lease/timetolive', body: { ID: leaseId } },
  { name: 'lease keepalive of a revoked lease', path: '/v3/lease/keepalive', body: { ID: leaseId } },
  { name: 'lease revoke of a missing lease', path: '/v3/kv/lease/revoke', body: { ID: leaseId } },
  { name: 'lease grant for the kv path', path: '/v3/lease/grant', body: { TTL: 600, ID: otherLeaseId } },
  { name: 'lease revoke (kv path)', path: '/v3/kv/lease/revoke', body: { ID: otherLeaseId } },
  { name: 'deleterange of a prefix with prev_kv', path: '/v3/kv/deleterange', body: { key: b64('gw/'), range_end: b64('gw0'), prev_kv: true } },
  {
    name: 'watch of one key, with prev_kv',
    watch: { create_request: { key: b64('gw/w'), prev_kv: true } },
    firstLines: 1,
    writes: [
      { post: put('gw/w', 'one'), lines: 1 },
      { post: put('gw/w', 'two'), lines: 1 },
      { post: { path: '/v3/kv/deleterange', body: { key: b64('gw/w') } }, lines: 1 },
    ],
  },
  {
    name: 'watch of a prefix from an old revision',
    watch: { create_request: { key: b64('gw/w'), range_end: b64('gw/x'), start_revision: 2 } },
    firstLines: 2,
    writes: [],
  },
  {
    name: 'watch of every key (the empty key with range_end "\\0")',
    watch: { create_request: { key: '', range_end: b64('\0') } },
    firstLines: 1,
    writes: [{ post: put('gw/any', 'x'), lines: 1 }],
  },
  { name: 'compaction', path: '/v3/kv/compaction', body: { revision: 5 } },
  { name: 'range at a compacted revision', path: '/v3/kv/range', body: { key: b64('gw/a'), revision: 3 } },
  {
    name: 'watch from a compacted revision',
    watch: { create_request: { key: b64('gw/a'), start_revision: 3 } },
    firstLines: 2,
    writes: [],
    // etcd says the compacted revision (5); Keel the first revision it can replay (6).
    varying: ['compact_revision'],
  },
  // dbSizeQuota is etcd 3.5's field, which Keel fills.
  { name: 'maintenance status', path: '/v3/maintenance/status', body: {}, keelAdds: ['dbSizeQuota'] },
  // etcd 3.4 answers an alarm list with no header at all; Keel sends its header.
  { name: 'maintenance alarm list', path: '/v3/maintenance/alarm', body: { action: 'GET' }, keelAdds: ['header'] },
  { name: 'cluster member list', path: '/v3/cluster/member/list', body: {} },
  { name: 'cluster member remove of a missing member', path: '/v3/cluster/member/remove', body: { ID: '12345' } },
  { name: 'maintenance hash', path: '/v3/maintenance/hash', body: {}, varying: ['hash'] },
  // etcd 3.4 answers a defragment with no header at all; Keel sends its header.
  { name: 'maintenance defragment', path: '/v3/maintenance/defragment', body: {}, keelAdds: ['header'] },
  { name: 'cluster member add of a learner', path: '/v3/cluster/member/add', body: { peerURLs: ['http://127.0.0.1:1'], isLearner: true } },
  {
    name: 'cluster member update of the learner',
    path: '/v3/cluster/member/update',
    body: {},
    bodyFrom: (answers) => ({ ID: addedMemberId(answers), peerURLs: ['http://127.0.0.1:2'] }),
    // etcd 3.4 turns a learner into a voter when its peer URLs change (fixed in 3.5); Keel keeps it a learner.
    keelAddsText: ',"isLearner":true',
  },
  {
    name: 'cluster member promote of a learner not in sync',
    path: '/v3/cluster/member/promote',
    body: {},
    bodyFrom: (answers) => ({ ID: addedMemberId(answers) }),
  },
  { name: 'cluster member remove of the learner', path: '/v3/cluster/member/remove', body: {}, bodyFrom: (answers) => ({ ID: addedMemberId(answers) }) },
  { name: 'auth authenticate while auth is disabled', path: '/v3/auth/authenticate', body: { name: 'root', password: 'x' } },
  { name: 'auth role add', path: '/v3/auth/role/add', body: { name: 'reader' } },
  { name: 'auth role list', path: '/v3/auth/role/list', body: {} },
  { name: 'auth user add', path: '/v3/auth/user/add', body: { name: 'alice', password: 'secret' } },
  { name: 'auth user grant role', path: '/v3/auth/user/grant', body: { user: 'alice', role: 'reader' } },
  { name: 'auth user get', path: '/v3/auth/user/get', body: { name: 'alice' } },
  { name: 'auth user list', path: '/v3/auth/user/list', body: {} },
  { name: 'auth user change password', path: '/v3/auth/user/changepw', body: { name: 'alice', password: 'another' } },
  { name: 'auth user get of a missing user', path: '/v3/auth/user/get', body: { name: 'bob' } },
  {
    name: 'auth role grant permission',
    path: '/v3/auth/role/grant',
    body: { name: 'reader', perm: { permType: 'READ', key: b64('gw/'), range_end: b64('gw0') } },
  },
  { name: 'auth role get', path: '/v3/auth/role/get', body: { role: 'reader' } },
  { name: 'auth role revoke permission', path: '/v3/auth/role/revoke', body: { role: 'reader', key: b64('gw/'), range_end: b64('gw0') } },
  { name: 'auth user revoke role', path: '/v3/auth/user/revoke', body: { name: 'alice', role: 'reader' } },
  { name: 'auth user delete', path: '/v3/auth/user/delete', body: { name: 'alice' } },
  { name: 'auth role delete', path: '/v3/auth/role/delete', body: { role: 'reader' } },
];

/** The id of the member the scenario added (etcd picks it at random, Keel counts up). */
function addedMemberId(answers: readonly Recorded[]): string {
  const added = answers.find((a) => a.name === 'cluster member add of a learner');
  return (JSON.parse(added?.text as string) as { member: { ID: string } }).member.ID;
}

/** How long one answer or stream line may take. */
const answerTimeoutMs = 10_000;

async function post(base: string, request: Post): Promise<{ status: number; text: string }> {
  const response = await fetch(`${base}${request.path}`, { method: 'POST', body: JSON.stringify(request.body), signal: AbortSignal.timeout(answerTimeoutMs) });
  return { status: response.status, text: await response.text() };
}

async function watch(base: string, step: WatchStep): Promise<Recorded> {
  const abort = new AbortController();
  const response = await fetch(`${base}/v3/watch`, { method: 'POST', body: JSON.stringify(step.watch), signal: abort.signal });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let buffered = '';
  const lines: string[] = [];
  /** False when the stream ended or stayed silent: the missing lines are then recorded as such. */
  const readLines = async (count: number): Promise<boolean> => {
    const deadline = Date.now() + answerTimeoutMs;
    while (count > 0) {
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        lines.push(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        count -= 1;
        continue;
      }
      const timer = setTimeout(() => abort.abort(), Math.max(0, deadline - Date.now()));
      try {
        const { value, done } = await reader.read();
        if (done) throw new Error('the stream ended');
        buffered += Buffer.from(value).toString('utf8');
      } catch (error) {
        lines.push(`<no line within ${answerTimeoutMs} ms: ${(error as Error).message}>`);
        return false;
      } finally {
        clearTimeout(timer);
      }
    }
    return true;
  };
  try {
    let open = await readLines(step.firstLines);
    for (const write of step.writes) {
      if (!open) break;
      const answer = await post(base, write.post);
      if (answer.status !== 200) throw new Error(`${step.name}: ${write.post.path} answered ${answer.status} ${answer.text}`);
      open = await readLines(write.lines);
    }
  } finally {
    abort.abort();
  }
  return { name: step.name, request: { path: '/v3/watch', body: step.watch, writes: step.writes.map((w) => w.post) }, status: response.status, text: lines };
}

/**
 * Plays the scenario against the gateway at `base` (http://host:port), in order. It
 * starts at revision 1, where a fresh etcd starts; Keel's fresh store is at revision 0,
 * so one write outside the scenario's keys brings it there first.
 */
export async function playScenario(base: string): Promise<Recorded[]> {
  const start = JSON.parse((await post(base, { path: '/v3/kv/range', body: { key: b64('gw/') } })).text) as { header: { revision: string } };
  if (start.header.revision === '0') await post(base, put('primer', 'brings a fresh Keel store to revision 1'));
  const recorded: Recorded[] = [];
  for (const step of scenario) {
    if ('watch' in step) {
      recorded.push(await watch(base, step));
    } else {
      const request = { path: step.path, body: step.bodyFrom ? step.bodyFrom(recorded) : step.body };
      const answer = await post(base, request);
      recorded.push({ name: step.name, request, status: answer.status, text: answer.text });
    }
  }
  return recorded;
}

/** Fields whose values a server picks on its own, by the message that holds them (see the header comment). */
const placeholders: Readonly<Record<string, readonly string[]>> = {
  header: ['cluster_id', 'member_id', 'raft_term'],
  members: ['ID', 'name', 'peerURLs', 'clientURLs'],
  member: ['ID', 'name', 'peerURLs', 'clientURLs'],
  '': ['version', 'dbSize', 'dbSizeInUse', 'leader', 'raftIndex', 'raftTerm', 'raftAppliedIndex', 'hash'],
};

/** One answer's text with server-chosen values replaced, key order and spelling kept. */
export function normalise(text: string, varying: readonly string[] = []): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text;
  }
  return JSON.stringify(replace(json, '', varying));
}

function replace(value: unknown, holder: string, varying: readonly string[]): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => replace(item, holder, varying));
    // Members are listed by id, which each server picks: their order is compared once the ids are gone.
    return holder === 'members'
      ? items
          .map((item) => JSON.stringify(item))
          .sort()
          .map((text) => JSON.parse(text) as unknown)
      : items;
  }
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const chosen = (placeholders[holder] ?? []).includes(key) || (holder !== 'header' && varying.includes(key));
    out[key] = chosen ? `<${key}>` : replace(field, holderName(holder, key), varying);
  }
  return out;
}

/** Nested messages are matched by the field that holds them; the top level and `result` by ''. */
function holderName(parent: string, key: string): string {
  if (key === 'result') return parent;
  if (key === 'header' || key === 'members' || key === 'member') return key;
  return 'nested';
}

/** Where the recorded answers live, read by the test from the source tree. */
export const fixturesUrl = new URL('../../src/e2e/fixtures/etcd-gateway.json', import.meta.url);
