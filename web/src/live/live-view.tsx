import { useEffect, useState } from 'preact/hooks';
import { Chart } from '../components/chart';
import { MessageMap } from '../components/message-map';
import type { MapNode } from '../components/message-map';
import { ClusterFeed, messageFlightMs } from './cluster-feed';
import { KeyBrowser } from './key-browser';
import { LoginForm } from './login-form';
import { NodeCard } from './node-card';
import type { NodeActions } from './node-card';
import { call, callAny, json } from './rest';
import { supervisorTokenHeader, takeSupervisorToken } from './supervisor-token';
import { useAnimationFrame } from '../use-animation-frame';

const lagColors = ['#d9534f', '#5bc0de', '#f0ad4e', '#5cb85c'];

/** Live mode: the cluster the page was served by, watched through every node's event stream. */
export function LiveView() {
  const [feed] = useState(() => new ClusterFeed(location.origin));
  const [, setVersion] = useState(0);
  const [isolated, setIsolated] = useState<ReadonlySet<number>>(new Set());
  const [notice, setNotice] = useState('');
  const [supervisorToken] = useState(takeSupervisorToken);
  useEffect(() => {
    feed.start();
    const off = feed.onChange(() => setVersion((v) => v + 1));
    return () => {
      off();
      feed.stop();
    };
  }, [feed]);

  const hello = feed.hello;
  if (!hello) {
    return (
      <div class="live">
        <p role="status">Connecting to {location.origin} …</p>
        <LoginForm />
      </div>
    );
  }
  const leader = feed.leader();
  const nodes = [...feed.nodes.values()];

  const report = async (what: string, answer: Promise<{ ok: boolean; message?: string }>): Promise<void> => {
    const result = await answer;
    setNotice(result.ok ? `${what}: done` : `${what}: ${result.message ?? 'failed'}`);
  };
  const supervisor = hello.supervisorUrl;
  const supervisorCall = { method: 'POST', headers: { [supervisorTokenHeader]: supervisorToken ?? '' } };
  const actions: NodeActions = {
    ...(supervisor && supervisorToken
      ? {
          kill: (id) => void report(`kill node ${id}`, call(`${supervisor}/nodes/${id}/kill`, supervisorCall)),
          restart: (id) => void report(`restart node ${id}`, call(`${supervisor}/nodes/${id}/restart`, supervisorCall)),
        }
      : {
          supervisorReason: supervisor
            ? 'Kill and restart need the supervisor token: open the dashboard address that keel cluster up printed (it ends in #supervisor-token=...).'
            : 'Kill and restart need a cluster started by keel cluster up (its supervisor runs the node processes).',
        }),
    ...(hello.faultInjection
      ? {
          isolate: (id) => {
            setIsolated(new Set([...isolated, id]));
            void report(
              `isolate node ${id}`,
              call(`${nodeUrl(feed, id)}/admin/faults`, json('PUT', { rules: [{ peer: '*', direction: 'both', dropFraction: 1 }] })),
            );
          },
          heal: (id) => {
            setIsolated(new Set([...isolated].filter((n) => n !== id)));
            void report(`heal node ${id}`, call(`${nodeUrl(feed, id)}/admin/faults`, { method: 'DELETE' }));
          },
        }
      : { faultsReason: 'Isolate and heal need nodes started with --enable-fault-injection (keel cluster up --enable-fault-injection).' }),
    ...(leader
      ? {
          transferTo: (id: number) =>
            void report(`transfer leadership to node ${id}`, call(`${nodeUrl(feed, leader)}/admin/transfer-leadership`, json('POST', { to: id }))),
        }
      : {}),
  };

  const mapNodes = nodes.map((n) => {
    const f = feed.fresh(n);
    return { id: n.id, role: f?.status.role ?? 'down', label: f ? `t${f.status.term}` : 'down' };
  });
  const followers = [...new Set(feed.samples.flatMap((s) => Object.keys(s.lagByFollower).map(Number)))].sort();

  return (
    <div class="live">
      <section class="panel summary" aria-label="cluster summary">
        <p>
          Cluster <strong>{hello.clusterId}</strong> · leader: <strong data-testid="leader">{leader ? `node ${leader}` : 'none'}</strong> · term{' '}
          {feed.fresh(feed.nodes.get(leader))?.status.term ?? '–'} · {nodes.filter((n) => feed.fresh(n)).length} of {nodes.length} nodes answer
        </p>
        <p role="status" aria-live="polite" class="result" data-testid="notice">
          {notice}
        </p>
      </section>
      <p class="hint">Each node's log tail: cells coloured by term, faded until committed, the bar under the commit index.</p>
      <section class="cards" aria-label="nodes">
        {nodes.map((n) => (
          <NodeCard key={n.id} feed={feed} node={n} isolated={isolated.has(n.id)} actions={actions} />
        ))}
      </section>
      <div class="split">
        <section class="panel" aria-labelledby="map-title">
          <h2 id="map-title">Messages</h2>
          <LiveMessageMap feed={feed} nodes={mapNodes} isolated={isolated} />
          <p class="legend-line">
            <i class="msg-append" /> append <i class="msg-heartbeat" /> heartbeat <i class="msg-vote" /> vote <i class="msg-response" /> response (sampled when
            busy)
          </p>
        </section>
        <KeyBrowser feed={feed} />
      </div>
      <section class="panel charts" aria-label="charts">
        <Chart
          title="Throughput"
          unit="/s"
          series={[
            { name: 'writes', color: '#337ab7', values: feed.samples.map((s) => s.writesPerSecond) },
            { name: 'reads', color: '#5cb85c', values: feed.samples.map((s) => s.readsPerSecond) },
          ]}
        />
        <Chart title="p99 request latency" unit=" ms" series={[{ name: 'p99', color: '#d9534f', values: feed.samples.map((s) => s.p99Ms) }]} />
        <Chart
          title="Commit lag per follower"
          unit=" entries"
          series={followers.map((id, i) => ({
            name: `node ${id}`,
            color: lagColors[i % lagColors.length]!,
            values: feed.samples.map((s) => s.lagByFollower[id] ?? 0),
          }))}
        />
      </section>
      <ClusterControls feed={feed} report={report} />
    </div>
  );
}

function ClusterControls(props: { feed: ClusterFeed; report: (what: string, answer: Promise<{ ok: boolean; message?: string }>) => Promise<void> }) {
  const { feed, report } = props;
  const features = feed.hello?.features ?? {};
  const [memberId, setMemberId] = useState('');
  const [peerUrl, setPeerUrl] = useState('');
  const missing = 'this cluster does not offer the admin route for it yet';
  const reasons = [
    !features['snapshot'] && !features['snapshotDownload'] && `Take a snapshot: ${missing}.`,
    !features['addMember'] && `Add member: ${missing}.`,
    !features['removeMember'] && `Remove member: ${missing}.`,
  ].filter(Boolean);
  const firstUrl = feed.liveUrls()[0];
  return (
    <section class="panel" aria-labelledby="admin-title">
      <h2 id="admin-title">Cluster</h2>
      <div class="row">
        {(features['snapshot'] || !features['snapshotDownload']) && (
          <button
            type="button"
            disabled={!features['snapshot']}
            onClick={() => void report('snapshot', callAny(feed.liveUrls(), '/admin/snapshot', json('POST', {})))}
          >
            Take a snapshot
          </button>
        )}
        {features['snapshotDownload'] && (
          <a class="button" href={`${firstUrl}/admin/snapshot`} download>
            Download a snapshot
          </a>
        )}
      </div>
      <div class="row">
        <label>
          Member id <input value={memberId} inputMode="numeric" onInput={(e) => setMemberId(e.currentTarget.value)} />
        </label>
        <label>
          Peer URL <input value={peerUrl} placeholder="http://127.0.0.1:7104" onInput={(e) => setPeerUrl(e.currentTarget.value)} />
        </label>
        <button
          type="button"
          disabled={!features['addMember']}
          onClick={() =>
            void report(
              `add member ${memberId}`,
              callAny(feed.liveUrls(), '/members', json('POST', { ...(memberId ? { id: Number(memberId) } : {}), peerUrls: [peerUrl] })),
            )
          }
        >
          Add member
        </button>
        <button
          type="button"
          disabled={!features['removeMember']}
          onClick={() => void report(`remove member ${memberId}`, callAny(feed.liveUrls(), `/members/${encodeURIComponent(memberId)}`, { method: 'DELETE' }))}
        >
          Remove member
        </button>
      </div>
      {reasons.length > 0 && <p class="hint">Disabled: {reasons.join(' ')}</p>}
    </section>
  );
}

/** The map re-draws every animation frame on its own, so the rest of the page does not. */
function LiveMessageMap(props: { feed: ClusterFeed; nodes: readonly MapNode[]; isolated: ReadonlySet<number> }) {
  const now = useAnimationFrame();
  const messages = props.feed.flying
    .map((m) => ({ key: m.key, type: m.type, from: m.from, to: m.to, progress: (now - m.bornAt) / messageFlightMs }))
    .filter((m) => m.progress >= 0 && m.progress <= 1);
  return <MessageMap nodes={props.nodes} messages={messages} isCut={(a, b) => props.isolated.has(a) || props.isolated.has(b)} />;
}

function nodeUrl(feed: ClusterFeed, id: number): string {
  return feed.nodes.get(id)?.clientUrl ?? '';
}
