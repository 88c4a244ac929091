"""The README's first command, smaller: the demo plays its five acts and every check in its table holds."""

import os
import subprocess
import sys


def test_the_demo_plays_its_five_acts_and_every_check_holds(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENDESK_", "OUTAGE_DESK_", "DATABASE_URL"))}
    env["COLUMNS"] = "200"  # one row per line, so a FAIL is next to its figure
    done = subprocess.run([sys.executable, "-c", "from app.cli import main; main()", "demo", "--tickets", "150",
                           "--new-tickets", "20"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "FAIL" not in done.stdout
    for act in ("Act one", "Act two", "Act three", "Act four", "Act five"):
        assert act in done.stdout
    for shown in ("Confirmed in the sidebar by the product referent", "Interim update posted from the sidebar",
                  "lines playing the outage greeting", "Declared by the worker at its start",
                  "Declared by the status page", "merged into their first ticket", "Still broken",
                  "Aftercare: a new ticket", "escalated by Zendesk", "A live Stripe key"):
        assert shown in done.stdout
