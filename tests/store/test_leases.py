"""Leases: one owner at a time, renewed by its owner, taken over only once lapsed or released."""

import threading
from datetime import datetime, timedelta, timezone

from app.store.leases import RELEASED, lease_holder, release_lease, take_lease

NOW = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
TTL = timedelta(seconds=30)


def test_the_first_taker_holds_it_and_renews_it_and_nobody_else_gets_it_meanwhile(sessions):
    assert take_lease(sessions, "worker", "a", NOW, TTL)
    assert not take_lease(sessions, "worker", "b", NOW + timedelta(seconds=1), TTL)
    assert take_lease(sessions, "worker", "a", NOW + timedelta(seconds=20), TTL)
    assert not take_lease(sessions, "worker", "b", NOW + timedelta(seconds=45), TTL)
    holder = lease_holder(sessions, "worker")
    assert (holder.owner, holder.expires_at) == ("a", NOW + timedelta(seconds=50))


def test_a_lapsed_lease_goes_to_the_next_taker_and_its_old_owner_loses_it(sessions):
    assert take_lease(sessions, "worker", "a", NOW, TTL)
    assert take_lease(sessions, "worker", "b", NOW + TTL + timedelta(microseconds=1), TTL)
    assert not take_lease(sessions, "worker", "a", NOW + TTL + timedelta(seconds=1), TTL)
    assert lease_holder(sessions, "worker").owner == "b"


def test_a_released_lease_is_free_at_once_but_only_its_owner_can_release_it(sessions):
    assert take_lease(sessions, "worker", "a", NOW, TTL)
    release_lease(sessions, "worker", "b")
    assert not take_lease(sessions, "worker", "b", NOW, TTL)
    release_lease(sessions, "worker", "a")
    assert lease_holder(sessions, "worker").expires_at == RELEASED
    assert take_lease(sessions, "worker", "b", NOW, TTL)


def test_leases_of_different_names_are_independent(sessions):
    assert take_lease(sessions, "worker", "a", NOW, TTL)
    assert take_lease(sessions, "other", "b", NOW, TTL)


def test_of_many_takers_racing_for_a_new_or_lapsed_lease_exactly_one_wins(sessions):
    takers = 6
    for round_start in (NOW, NOW + 2 * TTL, NOW + 4 * TTL):
        start = threading.Barrier(takers)
        won: list[str] = []

        def take(owner: str) -> None:
            start.wait()
            if take_lease(sessions, "worker", owner, round_start, TTL):
                won.append(owner)

        threads = [threading.Thread(target=take, args=(f"{round_start:%H%M}-{n}",)) for n in range(takers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(won) == 1
        assert lease_holder(sessions, "worker").owner == won[0]
