/**
 * Raw grpc-js clients of etcd's Lock, Election, KV, Lease and Auth services, loaded
 * from Keel's proto files, for tests that call every method as any gRPC client of
 * etcd would (no client library in between). Errors come back as { code, details }.
 */
import { credentials, loadPackageDefinition, Metadata } from '@grpc/grpc-js';
import type { ChannelCredentials, ClientReadableStream, GrpcObject, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { etcdPackageDefinition } from '../proto/index.js';

export type Message = Record<string, unknown>;
export type Answer = Message & { readonly err?: { readonly code: number; readonly details: string } };

interface RawClient {
  close(): void;
  [method: string]: unknown;
}

type UnaryMethod = (
  request: Message,
  metadata: Metadata,
  options: { deadline?: number },
  callback: (error: ServiceError | null, response: Message) => void,
) => unknown;

export class RecipeClients {
  private readonly clients = new Map<string, RawClient>();
  private readonly metadata = new Metadata();

  /** `token`: an etcd auth token sent with every call; `channel`: TLS credentials (default: plain text). */
  constructor(
    private readonly endpoint: string,
    token?: string,
    private readonly channel: ChannelCredentials = credentials.createInsecure(),
  ) {
    if (token !== undefined) this.metadata.set('token', token);
  }

  /** One unary call; an error answers `{ err }` instead of throwing. */
  call(service: string, method: string, request: Message, options: { deadlineMs?: number } = {}): Promise<Answer> {
    const client = this.client(service);
    const unary = client[method] as UnaryMethod;
    const deadline = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
    return new Promise((resolve) => {
      unary.call(client, request, this.metadata, deadline, (error, response) =>
        resolve(error ? { err: { code: error.code, details: error.details } } : response),
      );
    });
  }

  /** A unary call that must succeed. */
  async ok(service: string, method: string, request: Message): Promise<Message> {
    const answer = await this.call(service, method, request);
    if (answer.err) throw new Error(`${service}.${method} failed: ${answer.err.code} ${answer.err.details}`);
    return answer;
  }

  observe(name: string): ClientReadableStream<Message> {
    const client = this.client('v3electionpb.Election');
    return (client.Observe as (request: Message, metadata: Metadata) => ClientReadableStream<Message>).call(client, { name: Buffer.from(name) }, this.metadata);
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
  }

  private client(qualified: string): RawClient {
    let client = this.clients.get(qualified);
    if (!client) {
      const [pkg, service] = qualified.split('.') as [string, string];
      const packages = loadPackageDefinition(etcdPackageDefinition());
      const Constructor = (packages[pkg] as GrpcObject)[service] as ServiceClientConstructor;
      client = new Constructor(this.endpoint, this.channel) as unknown as RawClient;
      this.clients.set(qualified, client);
    }
    return client;
  }
}

export const text = (value: unknown): string => (value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : String(value));
