/**
 * `keel cluster secret --out FILE`: a fresh cluster secret for peer authentication,
 * written with mode 0600. Hand the same file to every member (keel start
 * --peer-secret-file FILE); see docs/operating/security-peers.md.
 */
import type { Command } from 'commander';
import { writeNewSecretFile } from '../server/index.js';

export function registerClusterSecret(cluster: Command): void {
  cluster
    .command('secret')
    .description('write a new cluster secret (peer authentication) to a file with mode 0600')
    .requiredOption('--out <file>', 'where to write it; an existing file is never overwritten')
    .action(async (flags: { out: string }) => {
      await writeNewSecretFile(flags.out);
      console.log(`Wrote a new cluster secret to ${flags.out} (mode 0600).`);
      console.log(`Give every member this same file: keel start --peer-secret-file ${flags.out} (KEEL_PEER_SECRET_FILE).`);
      console.log('Each node copies it into its data directory on first start. Keep it as private as the data.');
    });
}
