"""Slow-loris clients beside Zendesk's webhooks: `outage-desk serve` keeps answering the webhooks."""

import json
import signal
import socket
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from app.intake.signature import ZendeskSignature
from tests.conftest import WEBHOOK_SECRET
from tests.helpers import wait_until
from tests.jobs.test_processes import free_port, start

DRIP_SECONDS = 2.0  # one byte this often: far under any sane read rate, yet never idle long
WEBHOOKS = 40
WEBHOOK_INTERVAL = 0.3  # 40 over 12 s
ANSWER_WITHIN = 3.0
ANSWERED_SHARE = 0.95


class SlowClient(threading.Thread):
    """One connection that sends the start of a request, then a byte every DRIP_SECONDS until told to
    stop; when the server drops it, it connects again, as an attacker would."""

    def __init__(self, port: int, head: bytes, drip: bytes, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.head, self.drip, self.stop = port, head, drip, stop
        self.connections = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    self.connections += 1
                    sock.sendall(self.head)
                    for byte in self.drip:
                        if self.stop.wait(DRIP_SECONDS):
                            return
                        sock.sendall(bytes([byte]))
            except OSError:
                self.stop.wait(0.1)


def slow_headers(port: int, stop: threading.Event) -> SlowClient:
    """A request line and one header, then a header line that never ends."""
    head = b"POST /webhooks/zendesk HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    return SlowClient(port, head, b"X-Padding: " + b"a" * 1000, stop)


def slow_body(port: int, stop: threading.Event) -> SlowClient:
    """Whole headers declaring a 4 KiB body (well under the size limit), then the body byte by byte."""
    head = (b"POST /webhooks/zendesk HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 4096\r\n\r\n")
    return SlowClient(port, head, b" " * 4096, stop)


def send_webhook(url: str, ticket_id: int) -> tuple[bool, float]:
    """One signed delivery as Zendesk makes it: answered 2xx in time?, and how long it took."""
    body = json.dumps({"ticket_id": str(ticket_id), "event": "ticket.created"}).encode()
    headers = {**ZendeskSignature(WEBHOOK_SECRET).headers(body), "Content-Type": "application/json",
               "X-Zendesk-Webhook-Invocation-Id": f"inv-{ticket_id}"}
    began = time.monotonic()
    try:
        status = requests.post(f"{url}/webhooks/zendesk", data=body, headers=headers, timeout=ANSWER_WITHIN).status_code
    except requests.RequestException:
        status = 0
    took = time.monotonic() - began
    return 200 <= status < 300 and took <= ANSWER_WITHIN, took


def test_four_slow_clients_do_not_keep_webhooks_from_being_answered(tmp_path, processes):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes.append(start(f"sqlite:///{tmp_path}/desk.db", tmp_path, "serve", "serve", "--bind",
                           f"127.0.0.1:{port}", "--workers", "2"))
    wait_until(lambda: _answers(f"{url}/healthz"), timeout=30)
    stop = threading.Event()
    slow = [slow_headers(port, stop), slow_headers(port, stop), slow_body(port, stop), slow_body(port, stop)]
    for client in slow:
        client.start()
    time.sleep(DRIP_SECONDS)  # each has its connection and has sent more than its first bytes
    try:
        with ThreadPoolExecutor(max_workers=WEBHOOKS) as pool:
            sent = []
            began = time.monotonic()
            for ticket_id in range(1, WEBHOOKS + 1):
                time.sleep(max(0.0, began + (ticket_id - 1) * WEBHOOK_INTERVAL - time.monotonic()))
                sent.append(pool.submit(send_webhook, url, ticket_id))
            results = [future.result() for future in sent]
        still_dripping = all(client.is_alive() for client in slow)
    finally:
        stop.set()
    answered = sum(ok for ok, _ in results)
    latencies = [took for _, took in results]
    print(f"\n4 slow clients (2 slow headers, 2 slow bodies; {sum(c.connections for c in slow)} connections opened): "
          f"{answered}/{len(results)} webhooks answered 2xx within {ANSWER_WITHIN:.0f} s; "
          f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
    assert still_dripping
    assert answered >= ANSWERED_SHARE * len(results)
    processes[0].send_signal(signal.SIGTERM)
    assert processes[0].wait(timeout=30) == 0


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False
