"""The web service's HTTP server: gunicorn with threaded workers, for `outage-desk serve` and the benchmark."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

# gthread, not sync: a sync worker reads each request itself, with no read timeout, so a client that
# sends its headers or body a byte at a time holds the whole worker (two such clients stopped the
# service). A gthread worker gives a connection a thread once its first bytes arrive, so a slow client
# holds one thread, not the worker. Not gevent: SQLite's busy wait and psycopg's C-level waits would
# stall every request of the worker. Any number of slow clients is for the reverse proxy to absorb: it
# buffers whole requests before they reach us (README, "Deployment").
WORKER_CLASS = "gthread"


@dataclass(frozen=True)
class ServerSettings:
    """gunicorn's settings, by gunicorn's names; the defaults are `outage-desk serve`'s."""

    bind: str = "127.0.0.1:8000"
    workers: int = 2
    # Each slow client holds a thread (never a database connection: a body is read before the store
    # is touched), so it takes workers x threads of them, 64, to stop the service.
    threads: int = 32
    # Under gthread this restarts a worker whose main loop froze; it is no deadline for a request.
    timeout: int = 30
    # gunicorn's own limits: what one slow client can make a worker hold in memory is bounded.
    limit_request_line: int = 4094
    limit_request_fields: int = 100
    limit_request_field_size: int = 8190
    # The proxies whose X-Forwarded-For and -Proto are believed (comma-separated, or *).
    forwarded_allow_ips: str = "127.0.0.1,::1"


def serve_wsgi(settings: ServerSettings, load_app: Callable[[], Callable]) -> None:
    """Run gunicorn in the foreground until it is told to stop; `load_app` runs in each worker."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("worker_class", WORKER_CLASS)
            for name, value in asdict(settings).items():
                self.cfg.set(name, value)
            # A worker takes no more connections than it has threads: one whose threads slow clients
            # hold leaves new ones to the others, where they are answered (all workers share one
            # listening socket, and the first to wake takes the connection, busy or not). So no
            # keep-alive, which would hold a connection between requests; behind a reverse proxy it
            # would not be used anyway. It also closes a connection that sends nothing for 5 s.
            self.cfg.set("worker_connections", settings.threads)
            self.cfg.set("keepalive", 0)
            # Each worker builds its app, and so its engine and pool, after the fork.
            self.cfg.set("preload_app", False)

        def load(self):
            return load_app()

    Server().run()
