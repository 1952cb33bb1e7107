import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status as grpcJsStatus } from '@grpc/grpc-js';
import { status } from './status.js';

test("the server's status codes are gRPC's, name for name, as the grpc-js clients read them", () => {
  const clients = Object.fromEntries(Object.entries(grpcJsStatus).filter(([name]) => Number.isNaN(Number(name))));
  assert.deepEqual({ ...status }, clients);
});
