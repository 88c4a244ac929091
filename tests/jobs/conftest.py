"""Worker processes started by a test, killed at its end if still running."""

import subprocess

import pytest


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
