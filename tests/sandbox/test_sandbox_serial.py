"""The sandbox's one-thread task queue: order, failures, idling and stopping."""

from __future__ import annotations

import threading

from zendesk_sandbox.serial import SerialWorker


def test_tasks_run_in_order_and_a_failure_does_not_stop_the_rest():
    handled: list[int] = []
    failed: list[tuple[int, str]] = []

    def handle(task: int) -> None:
        if task == 2:
            raise ValueError("boom")
        handled.append(task)

    worker: SerialWorker[int] = SerialWorker("test-serial", handle, lambda task, error: failed.append((task, str(error))))
    for task in range(5):
        worker.submit(task)

    assert worker.wait_idle(5)
    assert handled == [0, 1, 3, 4]
    assert failed == [(2, "boom")]
    worker.stop()


def test_stop_interrupts_a_pause_and_leaves_queued_tasks_unhandled():
    started, finished = threading.Event(), threading.Event()
    handled: list[str] = []

    def handle(task: str) -> None:
        started.set()
        if not worker.pause(30):
            handled.append(task)
        finished.set()

    worker: SerialWorker[str] = SerialWorker("test-serial", handle, lambda task, error: None)
    worker.submit("first")
    worker.submit("second")
    assert started.wait(5)

    worker.stop()

    assert finished.wait(5)
    assert not worker.wait_idle(0.2)  # "second" stays queued
    assert handled == []
