/**
 * gRPC's status codes, by the names the protocol gives them (grpc/grpc,
 * doc/statuscodes.md): what the server sends in `grpc-status`. A table of its own: the
 * server (its own call server on Node's HTTP/2) needs nothing else of the grpc-js client
 * library, and loading it for seventeen numbers cost 1.2 MiB of heap.
 */
export const status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** One of the codes above. */
export type StatusCode = (typeof status)[keyof typeof status];
