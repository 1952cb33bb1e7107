/**
 * The three-machine guide (docs/operating/deployment.md, "A cluster on three machines",
 * "TLS" and "Adding and replacing a machine"), run as written, in plain text and with
 * TLS, with network namespaces standing in for the machines (root, as CI). The commands
 * are the guide's own: each block marked `<!-- tested: NAME -->` is read from the page,
 * its example addresses and paths replaced by this run's, and run. So the guide cannot
 * drift from what is tested:
 *   - with TLS, a CA and a certificate per machine with openssl;
 *   - three members started with etcd-style flags (https peer and client URLs with
 *     TLS), reached with etcdctl and curl from the workstation (the harness's address);
 *   - a fourth machine added as a learner, started with --initial-cluster-state
 *     existing, promoted;
 *   - a dead machine replaced: removed, and a new one with a fresh data directory
 *     added; every acknowledged write is read back through it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NetnsNetwork, netnsAvailable } from './netns-network.js';
import { missingToolMessage, requireTool } from '../harness/required-tool.js';
import { waitFor } from '../harness/wait-for.js';

const guide = fileURLToPath(new URL('../../docs/operating/deployment.md', import.meta.url));
const keelMain = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const run = promisify(execFile);
const commandTimeoutMs = 30_000;

/** The shell block after `<!-- tested: NAME -->` in the guide, its continued lines joined. */
async function guideBlock(name: string): Promise<string[]> {
  const text = await readFile(guide, 'utf8');
  const marker = text.indexOf(`<!-- tested: ${name} -->`);
  assert.ok(marker >= 0, `the guide has no block marked ${name}`);
  const match = /```sh\n([\s\S]*?)```/.exec(text.slice(marker));
  assert.ok(match, `no shell block after the marker ${name}`);
  return (match[1] as string)
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/** One run's stand-ins for the guide's example machines, files and data. */
class Machines {
  readonly processes = new Map<number, ChildProcess>();

  constructor(
    readonly network: NetnsNetwork,
    readonly dir: string,
  ) {}

  get etc(): string {
    return join(this.dir, 'etc');
  }

  /** A line of the guide with machine `n` for N, this run's addresses, files and data directory. */
  render(line: string, n: number): string {
    return line
      .replaceAll('10.0.0.N', this.network.host(n))
      .replace(/\bmN\b/g, `m${n}`)
      .replace(/\b10\.0\.0\.(\d+)\b/g, (_, id: string) => this.network.host(Number(id)))
      .replaceAll('/etc/keel', this.etc)
      .replaceAll('/var/lib/keel', join(this.dir, `data-m${n}`));
  }

  /** A keel or etcdctl command line of the guide (no quotes in them), as argv with real programs. */
  argv(line: string): string[] {
    const [program, ...args] = line.trim().split(/\s+/);
    if (program === 'keel') return [process.execPath, keelMain, ...args];
    if (program === 'etcdctl') return [requireTool('etcdctl', 'etcd-client'), ...args];
    if (program === 'curl') return [requireTool('curl', 'curl'), '--fail', '--silent', '--show-error', ...args];
    throw new Error(`the guide runs ${program}, which this test does not know`);
  }

  /** Runs a command from the workstation (the harness's own address on the bridge); its output. */
  async command(argv: readonly string[]): Promise<string> {
    const [file, ...args] = argv;
    try {
      const { stdout } = await run(file as string, args, { timeout: commandTimeoutMs, env: { ...process.env, ETCDCTL_API: '3' } });
      return stdout;
    } catch (error) {
      const failed = error as { stderr?: string; message: string };
      throw new Error(`${argv.join(' ')} failed: ${failed.stderr?.trim() || failed.message}`);
    }
  }

  /** Starts `keel start ...` inside machine n's namespace, its log in the run's directory. */
  async start(n: number, argv: readonly string[]): Promise<void> {
    await mkdir(join(this.dir, `data-m${n}`), { recursive: true });
    const log = await open(join(this.dir, `m${n}.log`), 'w');
    const launched = [...this.network.launcher(n), ...argv];
    const child = spawn(launched[0] as string, launched.slice(1), { stdio: ['ignore', log.fd, log.fd] });
    await log.close();
    this.processes.set(n, child);
  }

  /** kill -9 of machine n's node; resolves once it is gone (a namespace with a process in it outlives its deletion). */
  async kill(n: number): Promise<void> {
    const child = this.processes.get(n);
    this.processes.delete(n);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async logs(): Promise<string> {
    const parts: string[] = [];
    for (const n of [1, 2, 3, 4, 5]) {
      const text = await readFile(join(this.dir, `m${n}.log`), 'utf8').catch(() => undefined);
      if (text !== undefined) parts.push(`--- m${n}:\n${text.split('\n').slice(-15).join('\n')}`);
    }
    return parts.join('\n');
  }
}

/** The guide's steps in plain text or with TLS, from the first start to a replaced machine. */
async function runGuide(tls: boolean): Promise<void> {
  const missing = await netnsAvailable();
  if (missing !== undefined) {
    assert.notEqual(process.getuid?.(), 0, missingToolMessage(`as root, network namespaces (${missing})`, 'iptables iproute2'));
    assert.match(missing, /root/);
    return;
  }
  if (tls) requireTool('openssl', 'openssl');
  const network = await NetnsNetwork.create([1, 2, 3, 4]);
  const machines = new Machines(network, await mkdtemp(join(tmpdir(), 'keel-guide-')));
  const explain = (): Promise<string> => machines.logs();
  // What the guide's own commands add to reach a member: the scheme, and the CA with TLS.
  const scheme = tls ? 'https://' : 'http://';
  const ca = tls ? ' --cacert /etc/keel/ca.pem' : '';
  const keelOn = (n: number, command: string): string[] => machines.argv(machines.render(`keel ${command} --endpoints ${scheme}10.0.0.${n}:2378${ca}`, n));
  const etcdctlOn = (n: number, args: string): string[] =>
    machines.argv(machines.render(`etcdctl --endpoints=${tls ? scheme : ''}10.0.0.${n}:2379${ca} ${args}`, n));
  try {
    await mkdir(machines.etc);
    const shell = (line: string): Promise<string> => machines.command(['sh', '-c', `cd ${machines.etc} && ${line}`]);
    const certificate = async (n: number): Promise<void> => {
      if (!tls) return;
      for (const line of await guideBlock('tls-machine')) await shell(machines.render(line, n));
    };
    if (tls) for (const line of await guideBlock('tls-ca')) await shell(line);
    for (const n of [1, 2, 3]) await certificate(n);
    await machines.command(machines.argv(`keel cluster secret --out ${machines.etc}/cluster-secret`));

    // Three members, started as the guide says, and reached as it says.
    const [startLine] = await guideBlock(tls ? 'tls-start' : 'plain-start');
    for (const n of [1, 2, 3]) await machines.start(n, machines.argv(machines.render(startLine as string, n)));
    const [health, put, get, ...others] = (await guideBlock(tls ? 'tls-check' : 'plain-check')).map((line) => machines.argv(machines.render(line, 1)));
    await waitFor(
      () =>
        machines.command(health as string[]).then(
          () => true,
          () => undefined,
        ),
      {
        timeoutMs: 60_000,
        what: 'etcdctl endpoint health on the three machines',
        explain,
      },
    );
    await machines.command(put as string[]);
    assert.match(await machines.command(get as string[]), /^greeting\nhello\n$/, 'written through m1, read through m3');
    for (const line of others) await machines.command(line);

    // Acknowledged writes through each machine, to find on the replacement at the end.
    const written = new Map<string, string>([['greeting', 'hello']]);
    for (const n of [1, 2, 3]) {
      await machines.command(etcdctlOn(n, `put before/m${n} v${n}`));
      written.set(`before/m${n}`, `v${n}`);
    }

    // Adding m4, as the guide says: announced as a learner, started, promoted.
    const [addLine, joinLine, promoteLine] = tls ? await guideBlock('tls-add') : [...(await guideBlock('plain-add')), ...(await guideBlock('plain-join'))];
    const addMachine = async (n: number, initialCluster?: string): Promise<void> => {
      await certificate(n);
      const forMachine = (line: string): string => machines.render(line.replaceAll('10.0.0.4', `10.0.0.${n}`).replace(/\bm4\b/g, `m${n}`), n);
      const added = await machines.command(machines.argv(forMachine(addLine as string)));
      const id = /Member (\d+) added as a learner/.exec(added)?.[1];
      assert.ok(id, `member add printed the new member's id: ${added}`);
      let start = machines.argv(forMachine(joinLine as string));
      if (initialCluster !== undefined) start = start.map((arg, i) => (start[i - 1] === '--initial-cluster' ? initialCluster : arg));
      await machines.start(n, start);
      const promote = machines.argv(forMachine(promoteLine as string).replace('<id printed by member add>', id));
      // A learner is promoted once it has caught up.
      await waitFor(
        () =>
          machines.command(promote).then(
            () => true,
            () => undefined,
          ),
        { timeoutMs: 60_000, what: `m${n} promoted`, explain },
      );
    };
    await addMachine(4);
    await machines.command(etcdctlOn(4, 'put after/m4 v4'));
    written.set('after/m4', 'v4');
    assert.match(await machines.command(etcdctlOn(4, 'get greeting')), /^greeting\nhello\n$/, 'read through the added m4');

    // Replacing m3, dead: removed first, then a new machine with an empty data directory.
    await machines.kill(3);
    const listed = JSON.parse(await machines.command(keelOn(1, 'member list --json'))) as { members: { id: number; name?: string }[] };
    const m3 = listed.members.find((member) => member.name === 'm3');
    assert.ok(m3, `member list names m3: ${JSON.stringify(listed)}`);
    await machines.command(keelOn(1, `member remove ${m3.id}`));
    await network.addNode(5);
    await addMachine(5, [1, 2, 4, 5].map((n) => `m${n}=${scheme}${network.host(n)}:2380`).join(','));
    await machines.command(etcdctlOn(5, 'put after/m5 v5'));
    written.set('after/m5', 'v5');

    // Every acknowledged write, read through the replacement; four voters.
    const lines = (await machines.command(etcdctlOn(5, 'get a --from-key'))).trim().split('\n');
    const found = new Map<string, string>();
    for (let i = 0; i + 1 < lines.length; i += 2) found.set(lines[i] as string, lines[i + 1] as string);
    for (const [key, value] of written) assert.equal(found.get(key), value, `${key} read through the replacement m5`);
    const members = JSON.parse(await machines.command(keelOn(5, 'member list --json'))) as { members: { name?: string; isLearner?: boolean }[] };
    assert.deepEqual(members.members.map((member) => member.name).sort(), ['m1', 'm2', 'm4', 'm5']);
    assert.ok(
      members.members.every((member) => !member.isLearner),
      'every member votes',
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await explain()}`);
  } finally {
    for (const n of [...machines.processes.keys()]) await machines.kill(n);
    await network.remove();
    await rm(machines.dir, { recursive: true, force: true });
  }
}

test('the three-machine guide in plain text, run as written: bootstrap with etcd-style flags, add a machine, replace one', { timeout: 240_000 }, () =>
  runGuide(false),
);

test('the three-machine guide with TLS, run as written: certificates, bootstrap over https, add a machine, replace one', { timeout: 240_000 }, () =>
  runGuide(true),
);
