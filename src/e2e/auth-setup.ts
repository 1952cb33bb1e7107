/**
 * The users and roles the auth tests start from, set up through the `etcd3` client as
 * an operator would: root with the root role, and alice, who may read and write every
 * key under app/ and nothing else.
 */
import type { Etcd3 } from 'etcd3';

export const rootLogin = { username: 'root', password: 'root-pw' } as const;
export const aliceLogin = { username: 'alice', password: 'alice-pw' } as const;

export async function createRootAndAppUser(admin: Etcd3): Promise<void> {
  await admin.user(rootLogin.username).create(rootLogin.password);
  await admin.user(rootLogin.username).addRole('root');
  await admin.role('app').create();
  await admin.role('app').grant({ permission: 'Readwrite', range: admin.range({ prefix: 'app/' }) });
  await admin.user(aliceLogin.username).create(aliceLogin.password);
  await admin.user(aliceLogin.username).addRole('app');
}
