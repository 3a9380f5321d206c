"""Real Redis servers for the integration tests: Debian's redis-server on
127.0.0.1, free ports, a temp dir each, no persistence; and a Redis Cluster of
primaries + replicas made with `redis-cli --cluster create`. Stdlib only.

    with RedisServer() as r:        # r.port, r.url ("redis://127.0.0.1:PORT")
        r.cli("SET", "k", "v"); r.stop(); r.start()
    with RedisCluster() as c:       # c.url ("redis-cluster://...")
        c.kill_primary_of("{edge|alg=gcra}")
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def free_port(cluster=False):
    """A free port (and, for cluster nodes, port + 10000 free too)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not cluster or port + 10000 > 65535:
            if not cluster:
                return port
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


class RedisServer:
    def __init__(self, cluster=False, extra=()):
        self.cluster = cluster
        self.extra = list(extra)
        self.port = free_port(cluster)
        self.dir = tempfile.mkdtemp(prefix="keel-redis-")
        self.proc = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"redis://{self.address}"

    def start(self, timeout=10):
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")]
        if self.cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", "1000"]
        self.proc = subprocess.Popen(args + self.extra, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited: " + self.log_tail())
            try:
                if self.cli("PING") == "PONG":
                    return self
            except subprocess.SubprocessError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING: " + self.log_tail())

    def log_tail(self):
        try:
            with open(os.path.join(self.dir, "redis.log")) as f:
                return "".join(f.readlines()[-20:])
        except OSError:
            return "(no log)"

    def cli(self, *args, timeout=5):
        out = subprocess.run([REDIS_CLI, "-p", str(self.port), *args], capture_output=True,
                             text=True, timeout=timeout)
        return out.stdout.strip()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.running():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self):
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisCluster:
    def __init__(self, primaries=3, replicas=1):
        self.nodes = [RedisServer(cluster=True) for _ in range(primaries * (1 + replicas))]
        self.replicas = replicas

    @property
    def url(self):
        return "redis-cluster://" + ",".join(n.address for n in self.nodes)

    def start(self, timeout=60):
        for n in self.nodes:
            n.start()
        out = subprocess.run([REDIS_CLI, "--cluster", "create", *[n.address for n in self.nodes],
                              "--cluster-replicas", str(self.replicas), "--cluster-yes"],
                             capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError("redis-cli --cluster create failed: " + out.stdout + out.stderr)
        self.wait_healthy(timeout)
        return self

    def running_nodes(self):
        return [n for n in self.nodes if n.running()]

    def wait_healthy(self, timeout=30):
        """Every running node says cluster_state:ok, every replica's link is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ok = all("cluster_state:ok" in n.cli("CLUSTER", "INFO") for n in self.running_nodes())
            links = all("master_link_status:up" in n.cli("INFO", "replication")
                        for n in self.running_nodes() if "role:slave" in n.cli("INFO", "replication"))
            if ok and links:
                return
            time.sleep(0.2)
        raise RuntimeError("cluster not healthy within %ss" % timeout)

    def primary_of(self, key):
        """The node (a RedisServer) that is the primary serving `key`'s slot."""
        slot = int(self.running_nodes()[0].cli("CLUSTER", "KEYSLOT", key))
        for line in self.running_nodes()[0].cli("CLUSTER", "NODES").splitlines():
            parts = line.split()
            if "master" not in parts[2] or "fail" in parts[2]:
                continue
            for r in parts[8:]:
                lo, _, hi = r.partition("-")
                if lo.isdigit() and int(lo) <= slot <= int(hi or lo):
                    address = parts[1].split("@")[0]
                    return next(n for n in self.nodes if n.address == address)
        raise RuntimeError("no primary for slot %d" % slot)

    def kill_primary_of(self, key):
        """SIGKILLs the primary serving `key`'s slot; returns it."""
        node = self.primary_of(key)
        node.kill()
        return node

    def __enter__(self):
        try:
            return self.start()
        except Exception:
            self.__exit__()
            raise

    def __exit__(self, *exc):
        for n in self.nodes:
            n.__exit__()
