/**
 * The results directory of a run: `<dir>/<time>-seed<seed>/` holding
 *   report.html        the run's report (report-html.ts)
 *   timeline.html      the checker's timeline of the register history
 *   history-*.jsonl    histories in the checker's format (`keel check-history` reads them)
 *   summary.json       every figure of the report, for scripts and CI
 *   logs/node-N.log    each node's log
 *   data/node-N/       each node's data directory — kept only when the run failed
 */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pairOperations, checkOperations, renderTimelineHtml } from '../check/index.js';
import type { Cluster } from '../harness/index.js';
import type { ChaosOutcome } from './chaos-run.js';
import { renderChaosReport } from './report-html.js';

/** A fresh directory for one run under `root`. */
export async function runDirectory(root: string, seed: number): Promise<string> {
  const dir = join(root, `${new Date().toISOString().replace(/[:.]/g, '-')}-seed${seed}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Copies what must outlive the cluster: logs always, data directories on failure. */
export async function keepArtifacts(dir: string, cluster: Cluster, outcome: ChaosOutcome): Promise<void> {
  await mkdir(join(dir, 'logs'), { recursive: true });
  for (const node of cluster.nodes) {
    await cp(node.logPath, join(dir, 'logs', `node-${node.id}.log`)).catch(() => undefined);
    if (outcome.failures.length > 0) await cp(node.dataDir, join(dir, 'data', `node-${node.id}`), { recursive: true }).catch(() => undefined);
  }
}

/** Writes histories, the summary, the timeline and the report; returns the report's path. */
export async function writeResults(dir: string, outcome: ChaosOutcome): Promise<string> {
  const artifacts: string[] = ['summary.json', 'logs/'];
  for (const w of outcome.workloads) {
    if (w.history.length === 0) continue;
    const name = `history-${w.name}.jsonl`;
    await writeFile(join(dir, name), `${w.history.map((e) => JSON.stringify(e)).join('\n')}\n`);
    artifacts.push(name);
  }
  const register = outcome.workloads.find((w) => w.name === 'register');
  if (register && register.history.length > 0) {
    const operations = pairOperations(register.history);
    const violatingKey = /^(\S+) is not linearizable/.exec(register.violations[0] ?? '')?.[1];
    // The timeline outlines the violation of the first bad key; recheck only that key.
    const result = violatingKey
      ? checkOperations(operations.filter((o) => o.key === violatingKey))
      : ({ status: 'linearizable', keys: new Set(operations.map((o) => o.key)).size, operations: operations.length } as const);
    await writeFile(join(dir, 'timeline.html'), renderTimelineHtml({ title: 'Keel chaos run: register history', operations, result }));
    artifacts.push('timeline.html');
  }
  if (outcome.failures.length > 0) artifacts.push('data/');
  const { workloads, ...rest } = outcome;
  const summary = { ...rest, workloads: workloads.map(({ history: _history, ...w }) => w) };
  await writeFile(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const report = join(dir, 'report.html');
  await writeFile(report, renderChaosReport(outcome, artifacts));
  return report;
}
