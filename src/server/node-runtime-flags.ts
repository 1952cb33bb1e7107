/**
 * The Node.js flags a Keel node runs with, wherever it is started: `keel cluster up`
 * (cli/cluster-command.ts), the test harness, the container images, the systemd unit
 * and the `keel` command's own first line (bin/keel.js). Tests check that those files
 * name the same flags (node-runtime-flags.test.ts; cli/systemd-unit.test.ts for the unit).
 *
 * `--initial-old-space-size`: V8 sizes a small heap's old-generation limit from the
 * little it holds (a node's live heap is about 25 MB), and under puts of large values
 * it then marked and compacted the whole heap five times a second on every member.
 * Starting the limit at 128 MiB cut those collections by four fifths and the servers'
 * CPU per 64 KiB put by 15-18% (docs/internals/performance.md, "A larger first heap
 * limit"). It is a limit, not an allocation: an idle node holds no more memory.
 *
 * `--max-semi-space-size=32`: a young generation that may grow to twice V8's default
 * under load. A put allocates short-lived objects (the request, its command, the
 * answer), and with fewer scavenges fewer of those in flight are copied and promoted:
 * 9% less CPU per small put at 64 clients, 6% more puts per second, a lower p99
 * ("A larger young generation"). It too is a limit: an idle node starts with the same
 * memory, a node that ran under load holds about 18 MiB more.
 */
export const NODE_RUNTIME_FLAGS: readonly string[] = ['--initial-old-space-size=128', '--max-semi-space-size=32'];
