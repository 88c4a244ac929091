"""The update_many pipeline as Zendesk sees it: full batches, at most 25 jobs in flight, few polls,
and a second pass on a ticket queued only once its first pass has landed."""

import json
import random
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from app.zendesk.client import RateLimitState
from app.zendesk.transport import build_transport
from app.zendesk.gateway import ZendeskGateway

API = "https://acme.zendesk.com/api/v2"


class JobQueue:
    """Zendesk's job runner as the benchmark's sandbox models it: one job at a time, in order,
    each taking `seconds` of the test clock; a poll sees every job finished by then."""

    def __init__(self, clock, seconds=1.0):
        self.clock = clock
        self.seconds = seconds
        self.jobs: dict[str, dict] = {}
        self.log: list[tuple[str, list]] = []  # ("put", the tickets sent) / ("poll", finished job ids)
        self.most_inflight = 0
        self.forgotten: set[str] = set()  # job ids Zendesk no longer lists (their data expired)
        self._free_at = 0.0

    def put(self, request):
        tickets = json.loads(request.body)["tickets"]
        now = self.clock.monotonic()
        self._free_at = max(self._free_at, now) + self.seconds
        job_id = f"j{len(self.jobs) + 1}"
        self.jobs[job_id] = {"done_at": self._free_at, "ids": [t["id"] for t in tickets]}
        self.log.append(("put", tickets))
        self.most_inflight = max(self.most_inflight, sum(j["done_at"] > now for j in self.jobs.values()))
        return 200, {}, json.dumps({"job_status": {"id": job_id, "status": "queued"}})

    def poll(self, request):
        ids = parse_qs(urlsplit(request.url).query)["ids"][0].split(",")
        now = self.clock.monotonic()
        statuses = []
        for job_id in set(ids) - self.forgotten:
            job = self.jobs[job_id]
            done = job["done_at"] <= now
            statuses.append({"id": job_id, "status": "completed" if done else "working",
                             "results": [{"id": i, "success": True, "status": "Updated"} for i in job["ids"]]
                             if done else None})
        self.log.append(("poll", [s["id"] for s in statuses if s["status"] == "completed"]))
        return 200, {}, json.dumps({"job_statuses": statuses})

    def count(self, kind):
        return sum(1 for k, _ in self.log if k == kind)


@pytest.fixture
def zendesk(clock):
    queue = JobQueue(clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.PUT, f"{API}/tickets/update_many.json", callback=queue.put)
        mock.add_callback(responses.GET, re.compile(rf"{API}/job_statuses/show_many\.json.*"), callback=queue.poll)
        yield queue


@pytest.fixture
def gateway(config, clock):
    rate_limit = RateLimitState()
    return ZendeskGateway(build_transport(config, rate_limit), rate_limit, clock, rng=random.Random(1))


def tag(ids):
    return [{"id": i, "additional_tags": ["api_down"]} for i in ids]


def test_tagging_10000_tickets_costs_100_writes_and_a_poll_for_several_jobs_each(gateway, zendesk):
    outcome = gateway.bulk_update(tag(range(1, 10_001)))

    assert len(outcome.succeeded) == 10_000 and not outcome.failed
    assert zendesk.count("put") == 100
    assert zendesk.most_inflight <= 25  # Zendesk refuses a 31st job; we keep room for others
    # Jobs take a second each: polls are timed to find several done, not one per job.
    assert zendesk.count("poll") <= 20


def test_a_second_pass_goes_out_only_after_its_tickets_first_pass_landed(gateway, zendesk):
    writer = gateway.bulk_writer()
    acknowledged = []

    def acknowledge(outcome):
        acknowledged.append(sorted(outcome.succeeded))
        writer.add([{"id": i, "comment": {"body": "We know", "public": True}} for i in sorted(outcome.succeeded)])

    writer.add(tag(range(1, 151)), then=acknowledge)
    writer.add(tag(range(151, 251)), then=acknowledge)
    writer.finish()

    puts = [tickets for kind, tickets in zendesk.log if kind == "put"]
    assert [len(p) for p in puts] == [100] * 5  # 250 tags + 250 acknowledgements, batches shared
    assert acknowledged == [list(range(1, 151)), list(range(151, 251))]
    # Each acknowledgement is queued after a poll saw its ticket's tag job completed: Zendesk
    # would refuse a job queued before the other landed (a job's safe update uses its queue time).
    landed, jobs = set(), {}
    for kind, entries in zendesk.log:
        if kind == "poll":
            landed |= {t["id"] for job_id in entries for t in jobs[job_id] if "additional_tags" in t}
        else:
            jobs[f"j{len(jobs) + 1}"] = entries
            assert all(t["id"] in landed for t in entries if "comment" in t)
    assert sorted(t["id"] for p in puts for t in p if "comment" in t) == list(range(1, 251))


def test_an_empty_write_makes_no_call_and_still_reports(gateway, zendesk):
    reported = []
    writer = gateway.bulk_writer()
    writer.add([], then=reported.append)
    writer.finish()
    assert writer.jobs == 0
    assert len(reported) == 1 and zendesk.log == []


def test_a_job_zendesk_does_not_list_is_sent_again_only_once_its_status_would_have_expired(gateway, zendesk, clock):
    zendesk.forgotten = {"j1"}  # never listed: it may still run, so only a day's silence means it is gone
    began = clock.monotonic()

    outcome = gateway.bulk_update(tag(range(1, 51)))

    puts = [[t["id"] for t in tickets] for kind, tickets in zendesk.log if kind == "put"]
    assert puts == [list(range(1, 51))] * 2
    assert clock.monotonic() - began > 24 * 3600
    assert outcome.succeeded == set(range(1, 51))
