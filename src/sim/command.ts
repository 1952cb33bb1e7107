/**
 * The simulator's client commands, which the host turns into store commands
 * (replica-host.ts). Every command carries the client's process and sequence number
 * (thesis §6.3: the store applies each (process, seq) of a session once, so a proposal
 * the network duplicated does not apply twice) and a request id the workload tracks.
 */
export type Command =
  | { readonly op: 'put'; readonly id: string; readonly process: number; readonly seq: number; readonly key: string; readonly value: number }
  | { readonly op: 'delete'; readonly id: string; readonly process: number; readonly seq: number; readonly key: string }
  | {
      readonly op: 'cas';
      readonly id: string;
      readonly process: number;
      readonly seq: number;
      readonly key: string;
      readonly expected: number;
      readonly value: number;
    }
  /** A probe with no effect on the data, proposed by the liveness phase and the churn
   * schedule (each with a process of its own, so their sequence numbers never meet). */
  | { readonly op: 'mark'; readonly id: string; readonly process: number; readonly seq: number };
