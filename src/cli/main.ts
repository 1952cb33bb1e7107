/**
 * The `keel` command. Each command lives in its own file and registers itself here with
 * one line, so adding a command touches nothing else.
 */
import { Command, CommanderError } from 'commander';
import { ETCD_API_VERSION, KEEL_VERSION } from '../server/index.js';
import { registerCheckHistory } from './check-history-command.js';
import { registerSim } from './sim-command.js';
import { registerStart } from './start-command.js';
import { registerCluster } from './cluster-command.js';
import { registerRepair } from './repair-command.js';
import { registerClientCommands } from './client-commands.js';
import { registerLeaseCommands } from './lease-commands.js';
import { registerWatchCommand } from './watch-command.js';
import { registerMemberCommands } from './member-commands.js';
import { registerShell } from './shell-command.js';
import { registerBench } from './bench-command.js';
import { registerMaintenanceCommands } from './maintenance-commands.js';
import { registerSnapshot } from './snapshot-command.js';
import { registerHistory } from './history-command.js';
import { registerRecord } from './record-command.js';
import { registerChaos } from './chaos-command.js';

const program = new Command('keel')
  .description('Keel: a replicated key-value store on Raft')
  .version(`keel ${KEEL_VERSION} (etcd API ${ETCD_API_VERSION})`, '-V, --version', 'print the version of keel and of the etcd API it serves');
program.exitOverride();

registerStart(program);
registerCluster(program);
registerRepair(program);
registerCheckHistory(program);
registerSim(program);
registerClientCommands(program);
registerLeaseCommands(program);
registerWatchCommand(program);
registerMemberCommands(program);
registerHistory(program);
registerRecord(program);
registerShell(program);
registerBench(program);
registerMaintenanceCommands(program);
registerSnapshot(program);
registerChaos(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the problem. A usage mistake exits with 2, as in diff and
    // grep, so that 1 keeps the meaning each command gives it.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    // Commands throw errors meant for people (bad configuration, port in use...).
    console.error(`keel: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
