"""Job Statuses API: show and show_many (job data is kept for one day, as in Zendesk)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, request

from zendesk_sandbox.context import current
from zendesk_sandbox.errors import ApiError, not_found
from zendesk_sandbox.state import Job

bp = Blueprint("api_jobs", __name__)
JOB_RETENTION = timedelta(days=1)
MAX_MANY = 100


@bp.get("/api/v2/job_statuses/<job_id>")
def show(job_id: str):
    """One job's status."""
    job = _live_jobs([job_id])
    if not job:
        raise not_found()
    return {"job_status": job[0]}


@bp.get("/api/v2/job_statuses/show_many")
def show_many():
    """Several jobs' statuses by comma-separated ids; unknown or expired ones are left out."""
    ids = [part for part in (request.args.get("ids") or "").split(",") if part]
    if not ids:
        raise ApiError(400, "InvalidParameter", "Parameter ids is required")
    if len(ids) > MAX_MANY:
        raise ApiError(400, "TooManyValues", f"You specified {len(ids)} ids; the limit is {MAX_MANY}")
    return {"job_statuses": _live_jobs(ids)}


def _live_jobs(ids: list[str]) -> list[dict]:
    sandbox = current()
    oldest = sandbox.now() - JOB_RETENTION
    with sandbox.state.lock:
        found: list[Job] = [sandbox.state.jobs[job_id] for job_id in ids if job_id in sandbox.state.jobs]
        return [job.as_json() for job in found if job.queued_at >= oldest]
