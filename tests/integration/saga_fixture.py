"""Real PostgreSQL 15 and nats-server (JetStream) for the orders saga's
integration tests: Debian's binaries on 127.0.0.1, free ports, a temp dir
each. Stdlib only; SQL goes through psql.

    with PostgresServer() as pg:        # pg.url("shop"), pg.create_database("shop")
        pg.sql("shop", "SELECT 1")      # -> [["1"]]
    with NatsServer() as nats:          # nats.url
        nats.stop(); nats.start()
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _terminate(proc, timeout):
    """SIGTERM, then SIGKILL after `timeout` seconds; nothing if not running."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _pg_bin():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    for d in reversed(dirs):
        if os.path.exists(os.path.join(d, "postgres")) and os.path.exists(os.path.join(d, "initdb")):
            return d
    raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql (apt install postgresql-15)")


class PostgresServer:
    """initdb + postgres, trust auth for user keel, fsync off. When run as
    root the server runs as the `postgres` user (it refuses root)."""

    def __init__(self):
        self.bin = _pg_bin()
        self.dir = tempfile.mkdtemp(prefix="keel-pg-")
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        self.proc = None
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        subprocess.run([os.path.join(self.bin, "initdb"), "-D", os.path.join(self.dir, "data"), "-U", "keel",
                        "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
                       check=True, capture_output=True, user=self.user, timeout=120)

    def url(self, db="postgres"):
        return f"postgresql://keel@127.0.0.1:{self.port}/{db}"

    def start(self, timeout=60):
        log = open(os.path.join(self.dir, "postgres.log"), "ab")
        self.proc = subprocess.Popen(
            [os.path.join(self.bin, "postgres"), "-D", os.path.join(self.dir, "data"), "-p", str(self.port),
             "-k", self.dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
             "full_page_writes=off", "-c", "max_connections=200", "-c", "log_min_messages=warning"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, user=self.user)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited: " + self.log_tail())
            r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "keel", "-d", "postgres",
                                "-Atc", "SELECT 1"], capture_output=True, text=True, timeout=10)
            if r.returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("postgres not ready: " + self.log_tail())

    def log_tail(self, n=2000):
        try:
            with open(os.path.join(self.dir, "postgres.log"), errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def sql(self, db, query):
        """Runs `query`; rows as lists of strings."""
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "keel", "-d", db,
                            "-v", "ON_ERROR_STOP=1", "-AtF", "\t", "-c", query],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"psql: {r.stderr.strip()}")
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def create_database(self, name):
        self.sql("postgres", f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self):
        _terminate(self.proc, 30)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


class NatsServer:
    """nats-server -js with its store in a temp dir; restartable on its port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="keel-nats-")
        self.port = free_port()
        self.proc = None

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        log = open(os.path.join(self.dir, "nats.log"), "ab")
        self.proc = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd",
                                      os.path.join(self.dir, "js"), "-n", "keel-it"],
                                     stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nats-server exited at start")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(4).startswith(b"INFO"):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("nats-server not ready")

    def stop(self):
        _terminate(self.proc, 15)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
