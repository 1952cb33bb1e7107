"""The Python gRPC client `etcd3` (Debian's python3-etcd3), unchanged, against one
endpoint: KV, transactions, leases, watches and locks, as its users call them.

Run by src/e2e/python-etcd3.test.ts against Keel and against etcd 3.4 alike:
    python3 etcd3_client_calls.py HOST PORT PREFIX
Prints one line "ok <step>" per step that passed; any failure raises (exit status 1).
"""
import os
import sys
import threading

import etcd3

host, port, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
client = etcd3.client(host=host, port=port, timeout=10)


def key(name):
    return prefix + name


def step(name):
    print("ok " + name, flush=True)


# KV: put, get, prefix reads, delete, replace, put_if_not_exists, transaction.
client.put(key("kv/a"), "1")
client.put(key("kv/b"), "2")
value, meta = client.get(key("kv/a"))
assert value == b"1", value
assert meta.key == key("kv/a").encode() and meta.version == 1, (meta.key, meta.version)
assert [m.key for _, m in client.get_prefix(key("kv/"))] == [key("kv/a").encode(), key("kv/b").encode()]
assert client.delete(key("kv/b")) is True
assert client.delete(key("kv/b")) is False
assert client.get(key("kv/b")) == (None, None)
assert client.replace(key("kv/a"), "1", "2") is True
assert client.replace(key("kv/a"), "1", "3") is False
assert client.put_if_not_exists(key("kv/a"), "x") is False
assert client.put_if_not_exists(key("kv/new"), "x") is True
succeeded, responses = client.transaction(
    compare=[client.transactions.value(key("kv/a")) == "2"],
    success=[client.transactions.put(key("kv/a"), "3"), client.transactions.get(key("kv/a"))],
    failure=[],
)
assert succeeded is True
assert responses[1][0][0] == b"3", responses
step("kv")

# Leases: grant, attach keys, time to live, refresh, revoke (its keys go with it).
lease = client.lease(30)
client.put(key("lease/k"), "v", lease=lease)
assert 0 < lease.remaining_ttl <= 30, lease.remaining_ttl
assert lease.granted_ttl == 30, lease.granted_ttl
assert lease.keys == [key("lease/k").encode()], lease.keys
refreshed = lease.refresh()
assert refreshed[0].TTL == 30, refreshed
lease.revoke()
assert client.get(key("lease/k")) == (None, None)
step("lease")

# Watches: an iterator over a key's events, and watch_once.
events, cancel = client.watch(key("watch/k"))
client.put(key("watch/k"), "one")
client.delete(key("watch/k"))
first = next(events)
second = next(events)
cancel()
assert isinstance(first, etcd3.events.PutEvent) and first.value == b"one", first
assert isinstance(second, etcd3.events.DeleteEvent), second
timer = threading.Timer(0.5, lambda: client.put(key("watch/once"), "later"))
timer.start()
once = client.watch_once(key("watch/once"), timeout=10)
timer.join()
assert once.value == b"later", once
step("watch")

# Locks: acquire, a second acquirer is refused while the first holds, then gets it.
# Only timeout=0 for a lock that is taken: a waiting acquire() fails with TypeError on
# etcd 3.4 and Keel alike, because its retry wait uses the two-argument form of
# tenacity's wait functions, which Debian's tenacity 8 no longer calls.
first_lock = client.lock(key("lock"), ttl=30)
assert first_lock.acquire(timeout=5) is True
assert first_lock.is_acquired() is True
second_lock = client.lock(key("lock"), ttl=30)
assert second_lock.acquire(timeout=0) is False
assert first_lock.release() is True
assert first_lock.is_acquired() is False
assert second_lock.acquire(timeout=0) is True
second_lock.refresh()
assert second_lock.release() is True
with client.lock(key("lock"), ttl=30) as held:
    assert held.is_acquired() is True
assert client.get("/locks/" + key("lock")) == (None, None)
step("lock")

# Leave without closing the client: the library's watch thread is a daemon that loops
# forever and, once the channel is closed, raises and prints while the interpreter
# shuts down, which can abort it ("Fatal Python error: _enter_buffered_busy") after
# every step has passed. Every step's line is flushed, so end the process here.
sys.stderr.flush()
os._exit(0)
