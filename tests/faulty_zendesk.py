"""A loopback Zendesk that misbehaves on chosen paths (HTML, cut-off JSON, drips, silence) and passes the rest on."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests

HTML_PAGE = (b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
             b"<p>The proxy could not reach the upstream server.</p></body></html>")


@dataclass
class Fault:
    """How to answer: a raw body with a status, or a drip of `drip_bytes` one byte every `interval` seconds."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    interval: float | None = None  # set: drip the answer, from its status line or (`whole=False`) its body
    whole: bool = True
    silent: bool = False  # answer nothing at all until the client gives up
    # set: the body is made from the request's headers, as by a proxy whose error page echoes them
    reflect: Callable[[Message], bytes] | None = None

    @property
    def raw(self) -> bytes:
        head = (f"HTTP/1.1 {self.status} X\r\nContent-Type: {self.content_type}\r\n"
                f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n").encode()
        return head + self.body


def body(text: str | bytes, status: int = 200, content_type: str = "application/json") -> Fault:
    return Fault(status=status, body=text.encode() if isinstance(text, str) else text, content_type=content_type)


HTML = Fault(body=HTML_PAGE, content_type="text/html")
CUT_JSON = body('{"ticket_fields": [{"id": 1, "title": "Contact rea')
EMPTY = body(b"")


def drip(interval: float, whole: bool = True) -> Fault:
    """A valid answer sent so slowly that no single read times out, but the whole never ends in time;
    from its first byte, or (`whole=False`) with its headers at once and then its body byte by byte."""
    return Fault(body=b'{"ticket_fields": []}' * 50, interval=interval, whole=whole)


SILENT = Fault(silent=True)
ECHO_MARK = "echoed by the proxy"


def echo_page(authorization: str, error: str | None = None) -> bytes:
    """An error body that echoes the request's credentials, as a misconfigured proxy's does: the header as
    sent and the login and token it carries; `error`, Zendesk's error code field (default: the header)."""
    scheme, _, value = authorization.partition(" ")
    decoded = base64.b64decode(value).decode() if scheme == "Basic" else value
    return json.dumps({"error": error or authorization,
                       "description": f"{ECHO_MARK}: Authorization: {authorization}; credentials: {decoded}"}).encode()


def echoing(status: int, error: str | None = None) -> Fault:
    """Answer `status` with an echo_page of the request's Authorization header."""
    return Fault(status=status, reflect=lambda headers: echo_page(headers.get("Authorization", ""), error))


class FaultyZendesk:
    """Serves `faults[path]` for matching requests (the first `times` of them, or all) and forwards
    the others to `upstream` (404 without one). `seen` lists "METHOD /path" of every request."""

    def __init__(self, upstream: str | None = None):
        self.upstream = upstream
        self._faults: dict[str, tuple[Fault, int | None]] = {}
        self.seen: list[str] = []
        self._closed = threading.Event()
        self._lock = threading.Lock()
        zendesk = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request(self):
                try:
                    super().handle_one_request()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def do_GET(self):
                zendesk._answer(self)

            do_PUT = do_POST = do_DELETE = do_GET

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def fail(self, path: str, fault: Fault, times: int | None = None) -> None:
        """Answer requests for `path` (e.g. /api/v2/ticket_fields.json) with `fault`, `times` times or always."""
        with self._lock:
            self._faults[path] = (fault, times)

    def heal(self, path: str) -> None:
        """Forward requests for `path` again."""
        with self._lock:
            self._faults.pop(path, None)

    def count(self, path: str) -> int:
        return sum(1 for seen in self.seen if seen.split(" ", 1)[1] == path)

    def _fault_for(self, path: str) -> Fault | None:
        with self._lock:
            fault, times = self._faults.get(path, (None, None))
            if fault is not None and times is not None:
                self._faults[path] = (fault, times - 1) if times > 1 else (None, None)
            return fault

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        self.seen.append(f"{handler.command} {path}")
        length = int(handler.headers.get("Content-Length") or 0)
        payload = handler.rfile.read(length) if length else b""
        fault = self._fault_for(path)
        if fault is not None and fault.reflect is not None:
            fault = replace(fault, body=fault.reflect(handler.headers))
        handler.close_connection = True
        if fault is None:
            self._forward(handler, payload)
        elif fault.silent:
            self._closed.wait()
        elif fault.interval is not None:
            raw = fault.raw
            if not fault.whole:
                split = raw.index(b"\r\n\r\n") + 4
                handler.wfile.write(raw[:split])
                raw = raw[split:]
            for byte in raw:
                if self._closed.wait(fault.interval):
                    return
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
        else:
            handler.wfile.write(fault.raw)

    def _forward(self, handler: BaseHTTPRequestHandler, payload: bytes) -> None:
        if self.upstream is None:
            handler.wfile.write(body('{"error": "InvalidEndpoint"}', status=404).raw)
            return
        headers = {k: v for k, v in handler.headers.items() if k.lower() in ("authorization", "content-type")}
        answer = requests.request(handler.command, self.upstream + handler.path, data=payload or None,
                                  headers=headers, timeout=30)
        fault = Fault(status=answer.status_code, body=answer.content,
                      content_type=answer.headers.get("Content-Type", "application/json"))
        extra = "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items()
                        if k.lower().startswith(("x-rate-limit", "ratelimit", "retry-after")))
        handler.wfile.write(fault.raw.replace(b"Connection: close\r\n", f"Connection: close\r\n{extra}".encode(), 1))

    def close(self) -> None:
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()

