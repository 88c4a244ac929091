"""Run zenpy's own API tests live against a fresh sandbox and print how many pass.

Usage: python tools/zenpy_live.py ZENPY_CHECKOUT [pytest arguments...]

zenpy's tests replay Betamax cassettes; without them they record against whatever Zendesk the
client reaches, so they become a fidelity check. The checkout is left untouched: its `tests/`
and `zenpy/` are copied to a temporary folder, the cassettes dropped there, and the copy run
with ZENPY_FORCE_SCHEME/ZENPY_FORCE_NETLOC pointing at a sandbox served on a free local port.
Needs betamax and betamax-serializers installed next to this project.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from zendesk_sandbox.seed import seed_outage
from zendesk_sandbox.server import create_sandbox_app, serve_sandbox
from zendesk_sandbox.state import SandboxState

EMAIL = "zenpy-live@example.com"
# The local sandbox's own credential, not a secret of any real account.
TOKEN = "zenpy-live-token"
SUBDOMAIN = "zenpy-live"
SEEDED_TICKETS = 5


def main(argv: list[str]) -> int:
    """Copy the suite, serve a sandbox, run pytest on the copy, print counts by outcome and module."""
    if not argv or not (Path(argv[0]) / "tests" / "test_api").is_dir():
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    checkout, pytest_args = Path(argv[0]), argv[1:] or ["tests/test_api"]
    # zenpy's token tests sleep on 429s; a high account limit keeps the run short, endpoint limits stay.
    # An account with a little history, as zenpy's recording account had: exports skip the last minute.
    state = SandboxState()
    now = datetime.now(timezone.utc)
    seed_outage(state, tickets=SEEDED_TICKETS, seed=7, start=now - timedelta(hours=3), end=now - timedelta(hours=2))
    app = create_sandbox_app(state, email=EMAIL, api_token=TOKEN, rate_limit_per_minute=100_000)
    server = serve_sandbox(app)
    try:
        with tempfile.TemporaryDirectory(prefix="zenpy-live-") as work:
            root = Path(work)
            shutil.copytree(checkout / "zenpy", root / "zenpy")
            shutil.copytree(checkout / "tests", root / "tests")
            shutil.copy(checkout / "README.md", root)  # the attachment tests upload it
            for cassette in (root / "tests" / "test_api" / "betamax").glob("*.json"):
                cassette.unlink()  # no cassette: Betamax records, so every request reaches the sandbox
            home = root / "home"
            home.mkdir()
            credentials = {"subdomain": SUBDOMAIN, "email": EMAIL, "token": TOKEN}
            (home / "zenpy-test-credentials.json").write_text(json.dumps(credentials))
            env = {
                **os.environ,
                "HOME": str(home),
                "PYTHONPATH": str(root),
                "ZENPY_FORCE_SCHEME": "http",
                "ZENPY_FORCE_NETLOC": server.url.removeprefix("http://"),
            }
            report = root / "report.xml"
            command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-o", "addopts=",
                       f"--junitxml={report}", *pytest_args]
            subprocess.run(command, cwd=root, env=env, check=False)
            outcomes = _outcomes(report)
    finally:
        server.shutdown()
    _print(outcomes, app.extensions["sandbox"].state.calls)
    return 0


def _outcomes(report: Path) -> list[tuple[str, str, str]]:
    """(module, test, outcome) for every test case in a JUnit XML report."""
    rows = []
    for case in ElementTree.parse(report).iter("testcase"):
        module = case.get("classname", "").split(".")
        name = ".".join(part for part in module if part.startswith("test_")) or case.get("classname", "")
        if case.find("failure") is not None:
            outcome = "failed"
        elif case.find("error") is not None:
            outcome = "error"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        else:
            outcome = "passed"
        rows.append((name, f"{case.get('classname')}::{case.get('name')}", outcome))
    return rows


def _unrouted(call: dict) -> bool:
    """A request to a route the sandbox lacks: 405, or 404 logged under its bare path (no route matched)."""
    path = call["path"].split("?")[0]
    return call["status"] == 405 or (call["status"] == 404 and call["endpoint"] == f"{call['method']} {path}")


def _print(outcomes: list[tuple[str, str, str]], calls: list[dict]) -> None:
    missing = Counter(
        f"{call['method']} {re.sub(r'/[0-9A-Z]{5,}', '/{id}', call['path'].split('?')[0])}"
        for call in calls
        if _unrouted(call)
    )
    print("\nrequests to routes the sandbox lacks:")
    for route, n in missing.most_common():
        print(f"  {n:>5}  {route}")
    by_module: dict[str, Counter] = {}
    for module, _, outcome in outcomes:
        by_module.setdefault(module, Counter())[outcome] += 1
    print("\nzenpy live against the sandbox, by module:")
    for module, counts in sorted(by_module.items()):
        print(f"  {module:<45} " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())))
    total = Counter(outcome for _, _, outcome in outcomes)
    print("total: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(total.items())))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
