"""Runs the real `keel` binary for black-box integration tests.

The server binds 127.0.0.1:0; the port is read from its first log line
({"msg":"listening","http":"127.0.0.1:PORT",...}). A thread collects every
stderr line so tests can wait for, and assert on, structured log records.

    with KeelServer(args=["--set", "http.header_timeout=500ms"]) as server:
        status, headers, body = server.request("GET", "/hello")
        assert server.stop() == 0

Also here: a raw-socket client (RawClient) that reads responses byte-exactly,
for pipelining, malformed input and half-closed connections; a Prometheus
text parser; and run_keel() for commands that exit on their own.

Every wait is bounded; the binary comes from KEEL_BIN (default: the build tree).
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

KEEL_BIN = os.environ.get("KEEL_BIN", "/work/main/build/keel")

# The machine is shared with compilers: be generous, tests still bound time.
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
IO_TIMEOUT = 10.0


def clean_env(extra=None):
    """The process environment without KEEL_* variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env.update(extra or {})
    return env


def run_keel(args, env=None, timeout=20.0):
    """Runs `keel ARGS` to completion; returns the CompletedProcess (text)."""
    return subprocess.run([KEEL_BIN] + list(args), env=clean_env(env), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def write_temp(text, suffix=".yaml"):
    """Writes `text` to a new temporary file and returns its path (caller deletes)."""
    fd, path = tempfile.mkstemp(prefix="keel-it-", suffix=suffix)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


class StartError(Exception):
    pass


class KeelServer:
    """One `keel serve` process.

    args: extra flags after `serve SERVICE`; --http 127.0.0.1:0 and --threads 2
    are added unless `http`/`threads` are None. env: KEEL_* variables to set
    (the caller's KEEL_* are removed first). config: YAML text written to a
    temporary file and passed with --config.
    """

    def __init__(self, args=(), env=None, config=None, service="hello",
                 http="127.0.0.1:0", threads=2):
        self.args = list(args)
        self.env = env
        self.config_text = config
        self.service = service
        self.http = http
        self.threads = threads
        self.proc = None
        self.port = None
        self.listening = None  # the parsed "listening" record
        self.lines = []  # raw stderr lines, in order
        self._cond = threading.Condition()
        self._reader = None
        self._config_path = None

    # Lifecycle -------------------------------------------------------------

    def command(self):
        cmd = [KEEL_BIN, "serve", self.service]
        if self.http is not None:
            cmd += ["--http", self.http]
        if self.threads is not None:
            cmd += ["--threads", str(self.threads)]
        if self.config_text is not None:
            self._config_path = write_temp(self.config_text)
            cmd += ["--config", self._config_path]
        return cmd + self.args

    def start(self, timeout=START_TIMEOUT, wait_signal_handlers=True):
        """Starts keel and waits for its "listening" line.

        keel logs "listening" before it installs its SIGTERM/SIGINT handlers
        (see test_lifecycle.test_sigterm_right_after_listening_drains), so by
        default this also waits until /proc shows both signals caught; tests
        that send a signal are then not racing the server's startup.
        """
        self.proc = subprocess.Popen(self.command(), env=clean_env(self.env),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        try:
            record = self.wait_for_log(lambda r: r.get("msg") == "listening", timeout)
        except TimeoutError:
            self.kill()
            raise StartError("keel did not log 'listening' within %.0fs; stderr:\n%s"
                             % (timeout, "".join(self.lines)))
        self.listening = record
        self.port = int(record["http"].rsplit(":", 1)[1])
        if wait_signal_handlers:
            self._wait_signals_caught(timeout)
        return self

    def signals_caught(self):
        """The set of signal numbers the process has handlers for (Linux /proc)."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    mask = int(line.split()[1], 16)
                    return {n for n in range(1, 65) if mask & (1 << (n - 1))}
        return set()

    def _wait_signals_caught(self, timeout):
        want = {signal.SIGTERM, signal.SIGINT}
        deadline = time.monotonic() + timeout
        while True:
            try:
                if want <= self.signals_caught():
                    return
            except OSError:
                pass  # exited; reported below
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise StartError("keel did not install SIGTERM/SIGINT handlers within %.0fs "
                                 "(rc=%s)" % (timeout, self.proc.returncode))
            time.sleep(0.005)

    def _read_stderr(self):
        for raw in iter(self.proc.stderr.readline, b""):
            with self._cond:
                self.lines.append(raw.decode("utf-8", "replace"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signo=signal.SIGTERM):
        self.proc.send_signal(signo)

    def wait(self, timeout=STOP_TIMEOUT):
        """Waits for exit; returns the exit code (raises subprocess.TimeoutExpired)."""
        rc = self.proc.wait(timeout=timeout)
        self._close_stderr(join_timeout=5)
        self._remove_config()
        return rc

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then wait; returns the exit code. Kills on timeout and re-raises."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self):
        """Best-effort cleanup for tearDown: SIGKILL if still running."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            self._close_stderr(join_timeout=2, force=True)
        self._remove_config()

    def _close_stderr(self, join_timeout, force=False):
        """Closes the stderr pipe once its reader thread has seen EOF (or
        after join_timeout anyway when `force`)."""
        if self.proc.stderr is None or self.proc.stderr.closed:
            return
        if self._reader is not None:
            self._reader.join(timeout=join_timeout)
        if force or self._reader is None or not self._reader.is_alive():
            self.proc.stderr.close()

    def _remove_config(self):
        if self._config_path:
            os.unlink(self._config_path)
            self._config_path = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()

    # Logs ------------------------------------------------------------------

    def records(self):
        """Every stderr line that parses as a JSON object, in order."""
        out = []
        for line in self.log_lines():
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
        return out

    def log_lines(self):
        with self._cond:
            return list(self.lines)

    def wait_for_log(self, predicate, timeout=IO_TIMEOUT):
        """Returns the first JSON log record matching `predicate`; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                while seen < len(self.lines):
                    line = self.lines[seen]
                    seen += 1
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict) and predicate(record):
                        return record
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no matching log line within %.1fs" % timeout)
                if self.proc.poll() is not None and (self._reader is None or
                                                     not self._reader.is_alive()):
                    raise TimeoutError("keel exited (rc=%s) before the log line appeared"
                                       % self.proc.returncode)
                self._cond.wait(min(left, 0.2))

    # HTTP ------------------------------------------------------------------

    def connection(self, timeout=IO_TIMEOUT):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, headers=None, body=None, timeout=IO_TIMEOUT):
        """One request on a new connection; returns (status, headers dict lower-cased, body)."""
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def metrics_text(self, accept=None):
        headers = {"Accept": accept} if accept else {}
        status, _, body = self.request("GET", "/metrics", headers=headers)
        if status != 200:
            raise AssertionError("/metrics answered %d" % status)
        return body.decode()

    def metrics(self):
        return parse_prometheus(self.metrics_text())

    def raw(self, timeout=IO_TIMEOUT):
        return RawClient(self.port, timeout)


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """Samples from a Prometheus text exposition."""

    def __init__(self, samples, types):
        self.samples = samples  # list of (name, {label: value}, float)
        self.types = types  # family name -> type

    # `metric`, not `name`: a label may be called name (keel_breaker_state{name=...}).
    def find(self, metric, **labels):
        return [v for n, l, v in self.samples
                if n == metric and all(l.get(k) == want for k, want in labels.items())]

    def value(self, metric, **labels):
        """The single sample `metric` with (at least) `labels`; None if absent."""
        found = self.find(metric, **labels)
        if len(found) > 1:
            raise AssertionError("%d samples for %s%s" % (len(found), metric, labels))
        return found[0] if found else None


def parse_prometheus(text):
    samples, types = [], {}
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split()
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3]
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError("unparsable exposition line: %r" % line)
        labels = {k: v for k, v in _LABEL.findall(m.group(2) or "")}
        samples.append((m.group(1), labels, float(m.group(3))))
    return Metrics(samples, types)


class Response:
    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) in order
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)


class RawClient:
    """A plain TCP client that parses HTTP/1.1 responses from a byte buffer."""

    def __init__(self, port, timeout=IO_TIMEOUT):
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _fill(self, deadline):
        """Reads more bytes into buf; False at EOF. Resets raise ConnectionResetError."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out waiting for bytes from keel")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def _need(self, deadline):
        if not self._fill(deadline):
            raise ConnectionError("connection closed by keel mid-response (buffered %r)"
                                  % self.buf[:200])

    def read_response(self, head=False, timeout=None):
        """Reads one response (Content-Length framed; no body if `head`)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buf:
            self._need(deadline)
        header_blob, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = header_blob.decode("latin-1").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        resp = Response(version, int(status), reason, headers, b"")
        length = resp.header("Content-Length")
        if head or length is None or 100 <= resp.status < 200:
            return resp
        length = int(length)
        while len(self.buf) < length:
            self._need(deadline)
        resp.body, self.buf = self.buf[:length], self.buf[length:]
        return resp

    def read_until_eof(self, timeout=None):
        """Everything until the server closes; raises socket.timeout if it does not."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while self._fill(deadline):
            pass
        data, self.buf = self.buf, b""
        return data

    def at_eof(self, timeout=None):
        """True if the server closes (or resets) with no further bytes within `timeout`."""
        try:
            return self.read_until_eof(timeout) == b""
        except ConnectionResetError:
            return self.buf == b""
