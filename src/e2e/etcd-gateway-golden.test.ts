/**
 * Keel's JSON gateway answers as etcd's does, byte for byte: the scenario of
 * gateway-scenario.ts played against one real Keel node, each answer compared with the
 * one a real etcd 3.4 gave (fixtures/etcd-gateway.json, recorded by
 * record-etcd-gateway.ts) after the values a server picks itself are normalised. The
 * comparison is of text, so a zero value Keel sends and etcd leaves out, a number where
 * etcd sends a string, or fields in another order all fail it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Cluster } from '../harness/cluster-harness.js';
import { fixturesUrl, normalise, playScenario, scenario } from './gateway-scenario.js';
import type { Recorded } from './gateway-scenario.js';

const fixtures = JSON.parse(readFileSync(fixturesUrl, 'utf8')) as { recordedFrom: string; answers: Recorded[] };

let cluster: Cluster;
let answers: Recorded[];

before(async () => {
  cluster = await Cluster.start({ size: 1 });
  answers = await playScenario(cluster.url(1));
});
after(async () => cluster?.destroy());

test('the fixtures hold an answer for every step of the scenario', () => {
  assert.deepEqual(
    fixtures.answers.map((a) => a.name),
    scenario.map((s) => s.name),
    'the scenario changed: record again with node dist/e2e/record-etcd-gateway.js',
  );
});

for (const [index, step] of scenario.entries()) {
  test(`gateway: ${step.name}`, () => {
    const expected = fixtures.answers[index] as Recorded;
    const actual = answers[index] as Recorded;
    const varying = step.varying ?? [];
    const texts = (r: Recorded): string[] => (Array.isArray(r.text) ? r.text : [r.text]).map((t) => normalise(t, varying));
    let keel = texts(actual);
    const added = 'keelAdds' in step ? (step.keelAdds ?? []) : [];
    if (added.length > 0) {
      // Keel's own additions must be there; without them the answer is etcd's.
      const json = JSON.parse(keel[0] as string) as Record<string, unknown>;
      for (const field of added) {
        assert.ok(field in json, `Keel's answer lacks ${field}: ${keel[0]}`);
        delete json[field];
      }
      keel = [JSON.stringify(json)];
    }
    const addedText = 'keelAddsText' in step ? step.keelAddsText : undefined;
    if (addedText !== undefined) {
      assert.ok(keel[0]?.includes(addedText), `Keel's answer lacks ${addedText}: ${keel[0]}`);
      keel = [(keel[0] as string).replace(addedText, '')];
    }
    assert.deepEqual({ status: actual.status, text: keel }, { status: expected.status, text: texts(expected) }, `${fixtures.recordedFrom} answered otherwise`);
  });
}

test('every gateway path is served under /v3beta/ and /v3alpha/ too, with the same answer', async () => {
  const range = (prefix: string) =>
    fetch(`${cluster.url(1)}${prefix}kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('gw/any').toString('base64') }) });
  const answers = await Promise.all(
    ['/v3/', '/v3beta/', '/v3alpha/'].map(async (prefix) => {
      const response = await range(prefix);
      return `${response.status} ${normalise(await response.text())}`;
    }),
  );
  assert.match(answers[0] as string, /^200 .*"kvs"/);
  assert.deepEqual(answers, [answers[0], answers[0], answers[0]]);
});
