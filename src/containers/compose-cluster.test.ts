/**
 * The container image and the compose cluster, for real (npm run test:containers, the
 * containers tier of npm test; as root, with the tools scripts/setup-ci.sh installs
 * through scripts/setup-containers.sh): builds the image on a local Debian base
 * (scripts/container-base-image.sh; no registry is reachable), starts
 * deploy/compose.yaml with its ports on 127.0.0.1, writes through one container and
 * reads through another, kills the leader's container, and checks that the others
 * elect a new leader and lost no acknowledged write. Removes the containers, network,
 * volumes and images it made (the build stage's too), also on failure; the base image
 * and its root file system stay cached on purpose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../harness/free-ports.js';
import { http, tryHttp } from '../harness/http.js';
import { waitFor } from '../harness/wait-for.js';
import { memberIdOf } from '../cli/etcd-flags.js';
import { requireTool } from '../harness/required-tool.js';
import { cleanUp, projectLogs, run } from './podman.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const composeFile = 'deploy/compose.yaml';
/** As in deploy/compose.yaml. */
const clusterToken = 'keel-compose';
const services = ['keel1', 'keel2', 'keel3'] as const;
type Service = (typeof services)[number];

const baseImageTimeoutMs = 10 * 60_000;
const buildTimeoutMs = 15 * 60_000;
const composeTimeoutMs = 3 * 60_000;
const podmanTimeoutMs = 60_000;
const healthyTimeoutMs = 90_000;
const newLeaderTimeoutMs = 30_000;

/** Lines of each container's output printed when the test fails. */
const logLinesMax = 300;

const testTimeoutMs = baseImageTimeoutMs + buildTimeoutMs + 2 * composeTimeoutMs + 5 * 60_000;

interface Leader {
  service: Service;
  id: number;
}

test('the image runs a 3-node compose cluster that survives the loss of its leader', { timeout: testTimeoutMs }, async () => {
  for (const [tool, debianPackage] of [
    ['podman', 'podman'],
    ['podman-compose', 'podman-compose'],
    ['runc', 'runc'],
    ['debootstrap', 'debootstrap'],
  ] as const) {
    requireTool(tool, debianPackage);
  }
  assert.equal(process.getuid?.(), 0, 'this test drives rootful podman (and caches its base image under /var/cache) and must run as root (CI does)');
  const suffix = randomBytes(4).toString('hex');
  const project = `keeltest${suffix}`;
  const image = `localhost/keel-test:${suffix}`;
  const ports = await freePorts(services.length);
  const clientPort = new Map<Service, number>(services.map((s, i) => [s, ports[i] as number]));
  const env: Record<string, string> = { KEEL_IMAGE: image };
  services.forEach((_service, i) => {
    env[`KEEL${i + 1}_PORT`] = String(ports[i]);
  });
  const compose = (args: string[]): ReturnType<typeof run> =>
    run('podman-compose', ['-p', project, '-f', composeFile, ...args], { timeoutMs: composeTimeoutMs, cwd: root, env });
  const url = (service: Service, path: string): string => `http://127.0.0.1:${clientPort.get(service)}${path}`;
  const idOf = (service: Service): number => memberIdOf(`http://${service}:2380`, clusterToken);

  // The build stage's image is left untagged: remove the ones this run adds.
  const danglingBefore = new Set(
    (await run('podman', ['images', '-q', '--no-trunc', '--filter', 'dangling=true'], { timeoutMs: podmanTimeoutMs })).stdout
      .split('\n')
      .filter((id) => id !== ''),
  );
  try {
    const base = (await run('sh', ['scripts/container-base-image.sh'], { timeoutMs: baseImageTimeoutMs, cwd: root })).stdout.trim();
    // --network=host: the build's `npm ci` reaches the npm registry as this machine does;
    // --format docker: OCI images carry no HEALTHCHECK.
    await run('podman', ['build', '--format', 'docker', '--network=host', '--build-arg', `BASE_IMAGE=${base}`, '-t', image, '-f', 'Containerfile', '.'], {
      timeoutMs: buildTimeoutMs,
      cwd: root,
    });
    await compose(['up', '-d']);

    for (const service of services) {
      await waitFor(async () => (await tryHttp(url(service, '/health')))?.status === 200, {
        timeoutMs: healthyTimeoutMs,
        what: `${service} healthy (a leader known)`,
      });
    }

    // Written through one container, read (linearizably) through another.
    const acknowledged = new Map<string, string>();
    for (let i = 0; i < 10; i++) {
      const key = `k${i}`;
      const value = `v${i}-${suffix}`;
      const put = await http(url('keel1', `/kv/${key}`), { method: 'PUT', body: value });
      assert.equal(put.status, 200, `PUT ${key} through keel1: ${JSON.stringify(put.body)}`);
      acknowledged.set(key, value);
    }
    const read = await http(url('keel2', '/kv/k0'));
    assert.equal(read.status, 200);
    assert.equal((read.body as { value: string }).value, acknowledged.get('k0'));

    const leaderBefore = await currentLeader(url('keel3', '/status'), idOf);
    await run('podman', ['kill', '--signal', 'KILL', `${project}_${leaderBefore.service}_1`], { timeoutMs: podmanTimeoutMs });
    const survivors = services.filter((s) => s !== leaderBefore.service);

    const leaderAfter = await waitFor(
      async () => {
        const leader = await currentLeader(url(survivors[0] as Service, '/status'), idOf);
        return leader.id !== leaderBefore.id && leader;
      },
      { timeoutMs: newLeaderTimeoutMs, what: `a leader other than ${leaderBefore.service} among ${survivors.join(', ')}` },
    );
    assert.ok(survivors.includes(leaderAfter.service));

    const put = await http(url(survivors[1] as Service, '/kv/after-kill'), { method: 'PUT', body: 'yes' });
    assert.equal(put.status, 200, `PUT after the kill: ${JSON.stringify(put.body)}`);
    acknowledged.set('after-kill', 'yes');
    for (const survivor of survivors) {
      for (const [key, value] of acknowledged) {
        const answer = await http(url(survivor, `/kv/${key}`));
        assert.equal(answer.status, 200, `GET ${key} through ${survivor}: ${JSON.stringify(answer.body)}`);
        assert.equal((answer.body as { value: string }).value, value, `${key} through ${survivor}`);
      }
    }
  } catch (error) {
    // The containers go with the cleanup below: keep what they printed with the failure.
    const logs = await projectLogs(project, { timeoutMs: podmanTimeoutMs, linesMax: logLinesMax }).catch((e: Error) => `(no container logs: ${e.message})`);
    console.error(logs);
    throw error;
  } finally {
    await cleanUp([
      () => compose(['down', '-v', '-t', '5']),
      // podman-compose leaves volumes of containers it could not remove; remove by label.
      () =>
        run('sh', ['-c', `podman volume ls -q --filter label=io.podman.compose.project=${project} | xargs -r podman volume rm -f`], {
          timeoutMs: podmanTimeoutMs,
        }),
      () =>
        run('sh', ['-c', `podman network ls -q --filter label=io.podman.compose.project=${project} | xargs -r podman network rm -f`], {
          timeoutMs: podmanTimeoutMs,
        }),
      () => run('sh', ['-c', `podman image exists ${image} && podman rmi -f ${image} || true`], { timeoutMs: podmanTimeoutMs }),
      async () => {
        const dangling = (await run('podman', ['images', '-q', '--no-trunc', '--filter', 'dangling=true'], { timeoutMs: podmanTimeoutMs })).stdout.split('\n');
        const added = dangling.filter((id) => id !== '' && !danglingBefore.has(id));
        if (added.length > 0) await run('podman', ['rmi', '-f', ...added], { timeoutMs: podmanTimeoutMs });
      },
    ]);
  }
});

async function currentLeader(statusUrl: string, idOf: (service: Service) => number): Promise<Leader> {
  const answer = await http(statusUrl);
  const leader = (answer.body as { leader?: number }).leader;
  const service = services.find((s) => idOf(s) === leader);
  if (!service) throw new Error(`${statusUrl} names no known leader: ${JSON.stringify(answer.body)}`);
  return { service, id: leader as number };
}
