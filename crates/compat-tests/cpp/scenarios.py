"""Scenarios for Apache's C++ RocketMQ client (librocketmq, as shipped in the PyPI wheel
`rocketmq==0.4.4`) against a running Apogee. Run by `tests/cpp_sdk.rs`:

    python scenarios.py <namesrv> <scenario> <unique-suffix>

Each scenario exits 0 when every expected message arrived exactly as expected and non-zero,
with a reason on stderr, otherwise (including when nothing arrives within the deadline).
"""

import sys
import threading
import time
from collections import defaultdict

from rocketmq.client import Message, Producer, PullConsumer, PushConsumer, SendStatus

DEADLINE_S = 60


def fail(reason):
    print("FAIL: " + reason, file=sys.stderr)
    sys.exit(1)


def wait_for(what, done, deadline_s=DEADLINE_S):
    """Polls `done()` until it is true; fails naming `what` after the deadline."""
    deadline = time.time() + deadline_s
    while not done():
        if time.time() > deadline:
            fail("timed out waiting for " + what)
        time.sleep(0.05)


class Received:
    """Thread-safe record of what a listener was given."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []

    def add(self, msg):
        with self.lock:
            self.messages.append(
                (msg.body.decode(), msg.tags.decode() if msg.tags else "", msg.reconsume_times)
            )

    def bodies(self):
        with self.lock:
            return [m[0] for m in self.messages]

    def snapshot(self):
        with self.lock:
            return list(self.messages)


def producer(ns, suffix):
    p = Producer("cpp_pg_" + suffix)
    p.set_namesrv_addr(ns)
    p.start()
    return p


def message(topic, body, tags=None, keys=None):
    m = Message(topic)
    m.set_body(body)
    if tags:
        m.set_tags(tags)
    if keys:
        m.set_keys(keys)
    return m


def push_consumer(ns, group, topic, listener, expression="*", orderly=False):
    c = PushConsumer(group, orderly=orderly)
    c.set_namesrv_addr(ns)
    c.subscribe(topic, listener, expression)
    c.start()
    return c


def send_ok(result, what):
    if result.status != SendStatus.OK:
        fail("%s answered %s" % (what, result.status))


def expect_exactly(received, expected, sentinel):
    """Waits for `expected` and then the sentinel (sent after them to the same topic), and
    checks that exactly the expected bodies arrived, each once, before it."""
    wait_for("the sentinel", lambda: sentinel in received.bodies())
    got = [b for b in received.bodies() if b != sentinel]
    if sorted(got) != sorted(expected):
        fail("expected %s, got %s" % (sorted(expected), sorted(got)))


def scenario_sends(ns, suffix):
    """Sync, async and oneway sends reach a push consumer, each exactly once."""
    topic, group = "CppSends_" + suffix, "cpp_g_sends_" + suffix
    p = producer(ns, suffix)
    send_ok(p.send_sync(message(topic, "create")), "first send")
    received = Received()
    c = push_consumer(ns, group, topic, received.add)
    wait_for("the consumer to see the first message", lambda: "create" in received.bodies())
    expected = ["create"]
    for i in range(5):
        send_ok(p.send_sync(message(topic, "sync-%d" % i)), "sync send")
        expected.append("sync-%d" % i)
    acked = []
    for i in range(5):
        p.send_async(
            message(topic, "async-%d" % i),
            lambda result, i=i: acked.append(i),
            lambda e: fail("async send failed: %s" % e),
        )
        expected.append("async-%d" % i)
    wait_for("5 async acknowledgements", lambda: len(acked) == 5)
    for i in range(5):
        p.send_oneway(message(topic, "oneway-%d" % i))
        expected.append("oneway-%d" % i)
    wait_for("all 16 messages", lambda: len(received.bodies()) >= 16)
    send_ok(p.send_sync(message(topic, "sentinel")), "sentinel")
    expect_exactly(received, expected, "sentinel")
    c.shutdown()
    p.shutdown()


def scenario_batch(ns, suffix):
    """A batch send is stored (and delivered) as its messages."""
    topic, group = "CppBatch_" + suffix, "cpp_g_batch_" + suffix
    p = producer(ns, suffix)
    send_ok(p.send_sync(message(topic, "create")), "first send")
    received = Received()
    c = push_consumer(ns, group, topic, received.add)
    wait_for("the consumer to see the first message", lambda: "create" in received.bodies())
    batch = [message(topic, "batch-%d" % i, tags="TagA") for i in range(10)]
    send_ok(p.send_batch(batch), "batch send")
    send_ok(p.send_sync(message(topic, "sentinel")), "sentinel")
    expect_exactly(received, ["create"] + ["batch-%d" % i for i in range(10)], "sentinel")
    c.shutdown()
    p.shutdown()


def scenario_tag_filter(ns, suffix):
    """A `TagA || TagB` subscription gets TagA and TagB messages and never TagC."""
    topic, group = "CppTags_" + suffix, "cpp_g_tags_" + suffix
    p = producer(ns, suffix)
    send_ok(p.send_sync(message(topic, "create", tags="TagA")), "first send")
    received = Received()
    c = push_consumer(ns, group, topic, received.add, "TagA || TagB")
    wait_for("the consumer to see the first message", lambda: "create" in received.bodies())
    expected = ["create"]
    for i in range(5):
        for tag in ("TagA", "TagB", "TagC"):
            send_ok(p.send_sync(message(topic, "%s-%d" % (tag, i), tags=tag)), "send")
            if tag != "TagC":
                expected.append("%s-%d" % (tag, i))
    send_ok(p.send_sync(message(topic, "sentinel", tags="TagB")), "sentinel")
    expect_exactly(received, expected, "sentinel")
    c.shutdown()
    p.shutdown()


def scenario_orderly(ns, suffix):
    """Orderly sends by sharding key reach an orderly push consumer in per-key order."""
    topic, group = "CppOrderly_" + suffix, "cpp_g_orderly_" + suffix
    p = producer(ns, suffix)
    send_ok(p.send_sync(message(topic, "create")), "first send")
    by_key = defaultdict(list)
    lock = threading.Lock()

    def listener(msg):
        body = msg.body.decode()
        if "#" in body:
            key, seq = body.split("#")
            with lock:
                by_key[key].append(int(seq))

    c = push_consumer(ns, group, topic, listener, orderly=True)
    keys = ["order-%d" % k for k in range(4)]
    for seq in range(10):
        for k, key in enumerate(keys):
            # The wrapper's sharding argument is an int: the key's number.
            send_ok(p.send_orderly(message(topic, "%s#%d" % (key, seq), keys=key), k), "orderly send")
    wait_for("40 ordered messages", lambda: sum(len(v) for v in list(by_key.values())) >= 40)
    with lock:
        for key in keys:
            if by_key[key] != list(range(10)):
                fail("key %s arrived as %s" % (key, by_key[key]))
    c.shutdown()
    p.shutdown()


def scenario_pull(ns, suffix):
    """A pull consumer reads every queue from offset 0 and gets everything sent."""
    topic, group = "CppPull_" + suffix, "cpp_g_pull_" + suffix
    p = producer(ns, suffix)
    expected = ["pull-%d" % i for i in range(20)]
    for body in expected:
        send_ok(p.send_sync(message(topic, body)), "send")
    c = PullConsumer(group)
    c.set_namesrv_addr(ns)
    c.start()
    got = []
    deadline = time.time() + DEADLINE_S
    while len(got) < len(expected) and time.time() < deadline:
        got.extend(m.body.decode() for m in c.pull(topic))
        time.sleep(0.1)
    if sorted(got) != sorted(expected):
        fail("pulled %s" % sorted(got))
    c.shutdown()
    p.shutdown()


def scenario_retry(ns, suffix):
    """A listener that fails a message gets it again, with its reconsume count raised."""
    topic, group = "CppRetry_" + suffix, "cpp_g_retry_" + suffix
    p = producer(ns, suffix)
    send_ok(p.send_sync(message(topic, "create")), "first send")
    received = Received()
    failed_once = set()

    def listener(msg):
        received.add(msg)
        body = msg.body.decode()
        if body.startswith("retry-") and body not in failed_once:
            failed_once.add(body)
            raise RuntimeError("fail the first delivery of " + body)

    c = push_consumer(ns, group, topic, listener)
    wait_for("the consumer to see the first message", lambda: "create" in received.bodies())
    for i in range(3):
        send_ok(p.send_sync(message(topic, "retry-%d" % i)), "send")

    def redelivered():
        again = [m for m in received.snapshot() if m[0].startswith("retry-") and m[2] >= 1]
        return len({m[0] for m in again}) == 3

    wait_for("each failed message to come back with reconsumeTimes >= 1", redelivered, 90)
    c.shutdown()
    p.shutdown()


def scenario_acl(ns, suffix):
    """With authentication and authorization on, a producer and a push consumer signing with
    set_session_credentials work; a wrong secret is refused."""
    topic, group = "AclCpp_" + suffix, "cg_acl_cpp_" + suffix
    p = Producer("cpp_pg_acl_" + suffix)
    p.set_namesrv_addr(ns)
    p.set_session_credentials("alice", "alice-secret-1", "ALIYUN")
    p.start()
    expected = ["signed-%d" % i for i in range(3)]
    for body in expected:
        send_ok(p.send_sync(message(topic, body)), "signed send")
    received = Received()
    c = PushConsumer(group)
    c.set_namesrv_addr(ns)
    # One client instance per process signs with the credentials it was created with: the
    # consumer needs its own instance to sign as carol.
    c.set_instance_name("acl_consumer_" + suffix)
    c.set_session_credentials("carol", "carol-secret-1", "ALIYUN")
    c.subscribe(topic, received.add, "*")
    c.start()
    sentinel = "sentinel-acl"
    send_ok(p.send_sync(message(topic, sentinel)), "sentinel")
    expect_exactly(received, expected, sentinel)
    c.shutdown()
    forger = Producer("cpp_pg_forger_" + suffix)
    forger.set_namesrv_addr(ns)
    forger.set_session_credentials("alice", "guessed-secret", "ALIYUN")
    forger.start()
    # The C++ client reports the broker's NO_PERMISSION as "No route info" after its retries;
    # that the send fails at all is what can be checked from here.
    try:
        forger.send_sync(message(topic, "forged"))
        fail("a send signed with a wrong secret was accepted")
    except Exception:
        pass
    forger.shutdown()
    p.shutdown()


def scenario_live(ns, suffix):
    """A push consumer that stays online for the test to inspect through the broker (consumer
    connection, running info, offset resets): prints `GOT <body>` for each delivery and
    `READY <group> <topic>` once it has consumed, then runs until its stdin closes."""
    topic, group = "CppLive_" + suffix, "cpp_g_live_" + suffix
    p = producer(ns, suffix)
    send_ok(p.send_sync(message(topic, "create", tags="TagA")), "first send")
    received = Received()
    printing = threading.Lock()

    def listener(msg):
        received.add(msg)
        # Each delivery is reported, so the test sees redeliveries (after an offset reset).
        # One write per line under a lock: the client calls this from several threads, and
        # print() writes the text and its newline separately (two lines once ran together).
        with printing:
            sys.stdout.write("GOT " + msg.body.decode() + "\n")
            sys.stdout.flush()

    c = push_consumer(ns, group, topic, listener, "TagA || TagB")
    wait_for("the consumer to see the first message", lambda: "create" in received.bodies())
    with printing:
        sys.stdout.write("READY %s %s\n" % (group, topic))
        sys.stdout.flush()
    sys.stdin.read()
    c.shutdown()
    p.shutdown()


def scenario_from_slave(ns, suffix):
    """The master is down: a push consumer reads the 100 messages it acknowledged from the
    slave (the Rust harness sent them and stopped the master)."""
    topic, group = "CppSlave_" + suffix, "cpp_g_slave_" + suffix
    expected = ["slave-%d" % i for i in range(100)]
    received = Received()
    c = push_consumer(ns, group, topic, received.add)
    wait_for("every message from the slave", lambda: set(expected) <= set(received.bodies()))
    c.shutdown()


SCENARIOS = {
    "from_slave": scenario_from_slave,
    "acl": scenario_acl,
    "live": scenario_live,
    "sends": scenario_sends,
    "batch": scenario_batch,
    "tag_filter": scenario_tag_filter,
    "orderly": scenario_orderly,
    "pull": scenario_pull,
    "retry": scenario_retry,
}

if __name__ == "__main__":
    namesrv, name, suffix = sys.argv[1], sys.argv[2], sys.argv[3]
    SCENARIOS[name](namesrv, suffix)
    print("OK " + name)
