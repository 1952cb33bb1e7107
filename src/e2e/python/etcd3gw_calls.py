"""Drives Debian's etcd3gw (python3-etcd3gw) with its default settings against one
gateway endpoint and prints what each call returned, as one JSON object, for
src/e2e/etcd3gw-client.test.ts to check. Usage: python3 etcd3gw_calls.py HOST PORT PREFIX

Only the host and port are given: the client keeps its default API path, timeout and
protocol, as a user's first try would.
"""
import json
import sys
import threading

from etcd3gw.client import Etcd3Client

host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
client = Etcd3Client(host=host, port=port)
seen = {}


def key(name):
    return prefix + name


def text(values):
    return [v.decode('utf-8') for v in values]


# Cluster and maintenance.
status = client.status()
seen['status_has_version'] = 'version' in status
seen['members'] = len(client.members())

# KV.
seen['put'] = client.put(key('a'), '1')
seen['get'] = text(client.get(key('a')))
seen['get_missing'] = client.get(key('missing'))
seen['put_again'] = client.put(key('a'), '2')
value, meta = client.get(key('a'), metadata=True)[0]
seen['get_metadata'] = {'value': value.decode('utf-8'), 'version': meta['version'], 'key': meta['key'].decode('utf-8')}
client.put(key('b'), '3')
seen['get_prefix'] = [(v.decode('utf-8'), m['key'].decode('utf-8')) for v, m in client.get_prefix(key(''))]
seen['get_prefix_descend'] = [m['key'].decode('utf-8') for _, m in client.get_prefix(key(''), sort_order='descend', sort_target='key')]
seen['replace_success'] = client.replace(key('a'), '2', '4')
seen['replace_fail'] = client.replace(key('a'), '2', '5')
seen['after_replace'] = text(client.get(key('a')))
seen['create_success'] = client.create(key('c'), 'new')
seen['create_fail'] = client.create(key('c'), 'again')
seen['delete'] = client.delete(key('c'))
seen['delete_missing'] = client.delete(key('c'))

# Leases.
lease = client.lease(ttl=60)
seen['lease_id_positive'] = lease.id > 0
ttl = lease.ttl()
seen['lease_ttl_in_range'] = 0 < ttl <= 60
seen['lease_keys_empty'] = lease.keys()
client.put(key('leased1'), 'x', lease)
client.put(key('leased2'), 'y', lease)
seen['lease_keys'] = sorted(k.decode('utf-8') for k in lease.keys())
refreshed = lease.refresh()
seen['lease_refresh_in_range'] = 0 < refreshed <= 60
seen['lease_revoke'] = lease.revoke()
seen['leased_keys_after_revoke'] = client.get(key('leased1')) + client.get(key('leased2'))
seen['lease_refresh_after_revoke'] = lease.refresh()
seen['lease_ttl_after_revoke'] = lease.ttl()
seen['create_with_lease'] = client.create(key('with-lease'), 'v', client.lease(ttl=60))

# Locks (etcd3gw's own recipe: a lease and a transaction on the create revision).
lock = client.lock(prefix + 'lock', ttl=60)
seen['lock_acquire'] = lock.acquire()
seen['lock_is_acquired'] = lock.is_acquired()
other = client.lock(prefix + 'lock', ttl=60)
seen['lock_second_acquire'] = other.acquire()
seen['lock_release'] = lock.release()
seen['lock_second_after_release'] = other.acquire()
other.release()

# Watches: one key, a prefix, and watch_once. etcd3gw consumes the "created" answer
# itself, so a write is known to come after the watch only once a probe write made
# after the request has been seen; the writes under test come after that.
events, cancel = client.watch(key('w'))
client.put(key('w'), 'probe')
for event in events:
    if event['kv'].get('value') == b'probe':
        break
writer = threading.Thread(target=lambda: [client.put(key('w'), str(i)) for i in range(3)] + [client.delete(key('w'))])
writer.start()
watched = []
for event in events:
    watched.append({'type': event.get('type', 'PUT'), 'value': event['kv'].get('value', b'').decode('utf-8')})
    if len(watched) == 4:
        break
cancel()
writer.join()
seen['watch'] = watched

prefix_events, prefix_cancel = client.watch_prefix(key('p/'))
client.put(key('p/probe'), 'probe')
for event in prefix_events:
    if event['kv']['key'] == key('p/probe').encode():
        break
client.put(key('p/one'), '1')
client.put(key('p/two'), '2')
watched_prefix = []
for event in prefix_events:
    watched_prefix.append(event['kv']['key'].decode('utf-8'))
    if len(watched_prefix) == 2:
        break
prefix_cancel()
seen['watch_prefix'] = watched_prefix

revision = int(client.status()['header']['revision'])
client.put(key('once'), 'done')
once = client.watch_once(key('once'), timeout=10, start_revision=revision + 1)
seen['watch_once'] = once['kv']['value'].decode('utf-8')

print(json.dumps(seen))
