"""A minimal OTLP/HTTP receiver for tests: accepts POST /v1/traces with a JSON
body (ExportTraceServiceRequest), keeps every span it was sent, answers 200
with an empty ExportTraceServiceResponse ({}), or a configured failure status
for the next N requests (to exercise the exporter's retry).

    with OtlpReceiver() as rx:
        ... point tracing.otlp_endpoint at rx.endpoint ...
        spans = rx.wait_for_spans(lambda s: len(s) >= 2, timeout=10)
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class OtlpReceiver:
    def __init__(self):
        self.requests = []        # (path, content_type, parsed body)
        self.fail_next = []       # statuses to answer before accepting again
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._cond:
                    if receiver.fail_next:
                        status = receiver.fail_next.pop(0)
                        receiver.requests.append((self.path, self.headers.get("Content-Type"), None))
                        receiver._cond.notify_all()
                        self.send_response(status)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    try:
                        parsed = json.loads(body)
                    except ValueError:
                        parsed = {"_invalid_json": body.decode("utf-8", "replace")}
                    receiver.requests.append((self.path, self.headers.get("Content-Type"), parsed))
                    receiver._cond.notify_all()
                reply = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def spans(self):
        """Every span received, each with its resource's service.name added as '_service'."""
        out = []
        with self._cond:
            for _, _, body in self.requests:
                if not body:
                    continue
                for rs in body.get("resourceSpans", []):
                    service = None
                    for attr in rs.get("resource", {}).get("attributes", []):
                        if attr.get("key") == "service.name":
                            service = attr.get("value", {}).get("stringValue")
                    for ss in rs.get("scopeSpans", []):
                        for span in ss.get("spans", []):
                            span = dict(span)
                            span["_service"] = service
                            out.append(span)
        return out

    def wait_for_spans(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self._cond.release()
                try:
                    spans = self.spans()
                finally:
                    self._cond.acquire()
                if predicate(spans):
                    return spans
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("spans so far: %s" % json.dumps(spans)[:2000])
                self._cond.wait(min(left, 0.2))


def attributes(span):
    """A span's attributes as a plain dict (the value of each typed AnyValue)."""
    out = {}
    for attr in span.get("attributes", []):
        value = attr.get("value", {})
        for kind in ("stringValue", "intValue", "doubleValue", "boolValue"):
            if kind in value:
                out[attr["key"]] = value[kind]
    return out
