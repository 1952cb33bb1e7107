/**
 * `keel repair --data-dir DIR`: the operator's explicit choice to cut a damaged WAL at
 * the first bad record, losing what follows (storage/wal-repair.ts). A node refuses
 * to start on a corrupt log and names this command; it never repairs by itself.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { NodeFileSystem, repairWal } from '../storage/index.js';

const cutPointsMax = 100;

export function registerRepair(program: Command): void {
  program
    .command('repair')
    .description("truncate a node's damaged write-ahead log at the first bad record (loses what follows)")
    .requiredOption('--data-dir <dir>', "the node's data directory")
    .action(async (flags: { dataDir: string }) => {
      const dir = join(flags.dataDir, 'raft', 'wal');
      const fs = new NodeFileSystem();
      for (let i = 0; i < cutPointsMax; i++) {
        const repair = await repairWal({ fs, dir, log: (msg) => console.error(msg) });
        if (!repair) {
          console.log(i === 0 ? `${dir}: the log opens as it is; nothing to repair` : `${dir}: the log opens now`);
          return;
        }
        console.log(
          `${dir}: cut ${repair.file} at offset ${repair.offset} (${repair.droppedBytes} bytes dropped)` +
            (repair.removedSegments.length > 0 ? `, removed ${repair.removedSegments.join(', ')}` : ''),
        );
      }
      throw new Error(`${dir} still does not open after ${cutPointsMax} cuts; inspect it by hand`);
    });
}
