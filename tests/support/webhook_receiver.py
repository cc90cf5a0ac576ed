"""A webhook receiver for tests: an ``http.server`` on 127.0.0.1 in a thread that records every
POST (path, headers, raw body) and answers with the status its ``answer`` gives (200 unless
told otherwise), and checks of the ``X-PCS-Signature`` header."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        want = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("X-PCS-Signature", ""), want)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    answer: Callable[[Received], int] = lambda r: 200

    def at(self, path: str) -> str:
        return self.url + path

    def to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A running receiver; stopped (and its thread joined) on exit."""
    box: dict[str, Receiver] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got = Received(self.path, dict(self.headers.items()), body)
            rec = box["r"]
            with lock:
                rec.received.append(got)
            code = rec.answer(got)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["r"] = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box["r"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
