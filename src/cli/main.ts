import { Command } from 'commander';
import { registerSim } from './sim-command.js';

const program = new Command();
program.name('keel').description('Keel: a replicated, fault-tolerant key-value store on Raft');
registerSim(program);
await program.parseAsync();
