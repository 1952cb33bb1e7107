/**
 * Simulation mode: the real consensus core (src/raft, bundled) on simulated servers in
 * the page (src/sim/playground.ts), no server needed. Click a node to crash or restart
 * it, drag it (or use its button) to the other side to partition the network, send puts
 * and gets, change the speed, pause and single-step.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { Playground } from '../../../src/sim/playground';
import type { ClientResult } from '../../../src/sim/playground';
import { LogStrip } from '../components/log-strip';
import { MessageMap } from '../components/message-map';
import { useAnimationFrame } from '../use-animation-frame';

const speeds = [0.1, 0.25, 0.5, 1, 2] as const;
/** A long pause (a background tab) must not run minutes of simulation at once. */
const frameStepMaxMs = 100;

export function SimView() {
  const [size, setSize] = useState<3 | 5>(3);
  const [seed, setSeed] = useState(1);
  const [sim, setSim] = useState(() => new Playground({ nodes: 3, seed: 1 }));
  const [paused, setPaused] = useState(false);
  const [speedIndex, setSpeedIndex] = useState(2);
  const [via, setVia] = useState(0);
  const [key, setKey] = useState('x');
  const [value, setValue] = useState('1');
  const [answer, setAnswer] = useState('');
  const now = useAnimationFrame();
  const last = useRef(now);

  useEffect(() => {
    const elapsed = Math.min(frameStepMaxMs, now - last.current);
    last.current = now;
    if (!paused && elapsed > 0) sim.advance(elapsed * speeds[speedIndex]!);
  }, [now]);

  const reset = (nodes: 3 | 5, nextSeed: number): void => {
    setSize(nodes);
    setSeed(nextSeed);
    setSim(new Playground({ nodes, seed: nextSeed }));
    setAnswer('');
  };
  const target = (): number => (via === 0 ? sim.leader() || 1 : via);
  const show = (what: string) => (r: ClientResult) =>
    setAnswer(r.ok ? `${what}: ok${r.value !== undefined ? `, value ${r.value}` : ''} (log index ${r.index})` : `${what}: failed — ${r.error}`);

  const views = sim.ids.map((id) => sim.view(id));
  const mapNodes = views.map((v) => ({
    id: v.id,
    role: v.up ? v.role : 'down',
    label: v.up ? `t${v.term}` : 'down',
    ...(v.timer && v.role !== 'leader' ? { timer: v.timer.elapsedTicks / v.timer.timeoutTicks } : {}),
  }));
  const messages = sim.messagesInFlight().map((m, i) => ({
    key: `${m.sentAtMs}-${m.message.from}-${m.message.to}-${i}`,
    type: m.message.type,
    from: m.message.from,
    to: m.message.to,
    progress: Math.min(1, (sim.nowMs - m.sentAtMs) / (m.arrivesAtMs - m.sentAtMs)),
  }));
  const leader = sim.leader();

  return (
    <div class="sim">
      <section class="panel summary" aria-label="simulation controls">
        <div class="row">
          <label>
            Nodes{' '}
            <select value={size} onChange={(e) => reset(Number(e.currentTarget.value) as 3 | 5, seed)}>
              <option value={3}>3</option>
              <option value={5}>5</option>
            </select>
          </label>
          <label>
            Seed <input type="number" value={seed} min={1} onChange={(e) => reset(size, Number(e.currentTarget.value) || 1)} />
          </label>
          <button type="button" onClick={() => setPaused(!paused)}>
            {paused ? 'Resume' : 'Pause'}
          </button>
          <button type="button" disabled={!paused} onClick={() => sim.stepOnce()}>
            Step
          </button>
          <label>
            Speed{' '}
            <input
              type="range"
              min={0}
              max={speeds.length - 1}
              value={speedIndex}
              onInput={(e) => setSpeedIndex(Number(e.currentTarget.value))}
              aria-valuetext={`${speeds[speedIndex]}x`}
            />{' '}
            {speeds[speedIndex]}×
          </label>
          <button type="button" onClick={() => sim.heal()}>
            Heal partition
          </button>
        </div>
        <p>
          Simulated time {(sim.nowMs / 1000).toFixed(1)} s · leader: <strong data-testid="sim-leader">{leader ? `node ${leader}` : 'none'}</strong> ·{' '}
          {messages.length} messages in flight
        </p>
      </section>
      <div class="split">
        <section class="panel" aria-labelledby="sim-map-title">
          <h2 id="sim-map-title">Cluster</h2>
          <MessageMap
            nodes={mapNodes}
            messages={messages}
            onNodeClick={(id) => (sim.view(id).up ? sim.crash(id) : sim.restart(id))}
            nodeActionLabel={(n) => (n.role === 'down' ? `restart node ${n.id}` : `crash node ${n.id} (${n.role})`)}
            isCut={(a, b) => sim.view(a).side !== sim.view(b).side}
          />
          <p class="hint">Click a node (or focus it and press Enter) to crash or restart it. The ring is its election timeout running out.</p>
          <Partition sim={sim} />
        </section>
        <section class="panel" aria-labelledby="sim-client-title">
          <h2 id="sim-client-title">Client</h2>
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              sim.put(target(), key, value, show(`put ${key}=${value} via node ${target()}`));
            }}
          >
            <label>
              Via{' '}
              <select value={via} onChange={(e) => setVia(Number(e.currentTarget.value))}>
                <option value={0}>the leader</option>
                {sim.ids.map((id) => (
                  <option key={id} value={id}>
                    node {id}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Key <input name="sim-key" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
            </label>
            <label>
              Value <input name="sim-value" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
            </label>
            <button type="submit">Put</button>
            <button type="button" onClick={() => sim.get(target(), key, show(`get ${key} via node ${target()}`))}>
              Get
            </button>
          </form>
          <p role="status" aria-live="polite" class="result" data-testid="sim-answer">
            {answer}
          </p>
          <div class="sim-nodes">
            {views.map((v) => (
              <div key={v.id} class={`sim-node role-${v.up ? v.role : 'down'}`} data-testid={`sim-node-${v.id}`} data-role={v.up ? v.role : 'down'}>
                <strong>
                  Node {v.id} · {v.up ? v.role : 'down'} · term {v.term} · commit {v.commit}
                </strong>
                <LogStrip entries={v.log} commit={v.commit} label={`log of node ${v.id}`} />
                <small data-testid={`sim-kv-${v.id}`}>{[...v.kv].map(([k, val]) => `${k}=${val}`).join(', ') || '(no keys)'}</small>
              </div>
            ))}
          </div>
          <p class="hint">Log cells are coloured by term; faded cells are not committed yet; the bar marks the commit index.</p>
          <h3>Events</h3>
          <ol class="events" aria-label="simulation events">
            {sim.events
              .slice(-8)
              .reverse()
              .map((e, i) => (
                <li key={`${e.atMs}-${i}`}>
                  {(e.atMs / 1000).toFixed(1)} s: {e.text}
                </li>
              ))}
          </ol>
        </section>
      </div>
    </div>
  );
}

/** Two sides of a partition line: drag a node across, or use its button. */
function Partition(props: { sim: Playground }) {
  const { sim } = props;
  const sides: (0 | 1)[] = [0, 1];
  return (
    <div class="partition" role="group" aria-label="network partition">
      {sides.map((side) => (
        <div
          key={side}
          class="side"
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => {
            e.preventDefault();
            const id = Number(e.dataTransfer?.getData('text/plain'));
            if (id) sim.setSide(id, side);
          }}
        >
          <span class="side-title">side {side === 0 ? 'A' : 'B'}</span>
          {sim.ids
            .filter((id) => sim.view(id).side === side)
            .map((id) => (
              <button
                key={id}
                type="button"
                class="chip"
                draggable
                onDragStart={(e) => e.dataTransfer?.setData('text/plain', String(id))}
                onClick={() => sim.setSide(id, side === 0 ? 1 : 0)}
                aria-label={`node ${id} on side ${side === 0 ? 'A' : 'B'}; move it to side ${side === 0 ? 'B' : 'A'}`}
              >
                {id} ⇄
              </button>
            ))}
        </div>
      ))}
    </div>
  );
}
