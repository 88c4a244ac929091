"""Organizations and organization fields: what an SLA plan is read from.

Sources: developer.zendesk.com/api-reference/ticketing/organizations/organizations/ (create and show;
`tags`, `organization_fields` keyed by field key), .../organizations/organization_fields/ (list; a
drop-down is type "dropdown" with `custom_field_options` of name and value), and
support.zendesk.com/hc/en-us/articles/4408888889114 ("About tags": with user and organization tagging
on, an organization's tags, a drop-down option's tag among them, are added to its members' new tickets).
The sandbox always behaves as if that tagging setting were on.
"""

from __future__ import annotations

from flask import Blueprint

from zendesk_sandbox.context import base_url, current
from zendesk_sandbox.errors import ApiError, not_found, resource_body
from zendesk_sandbox.guard import admin_only
from zendesk_sandbox.paging import offset_page
from zendesk_sandbox.state import SandboxState
from zendesk_sandbox.timefmt import iso

bp = Blueprint("api_organizations", __name__)


def add_organization_field(state: SandboxState, key: str, title: str, options: list[tuple[str, str]],
                           *, now: str) -> dict:
    """A drop-down organization field with (name, value) options."""
    with state.lock:
        field_id = state.next_id("organization_field")
        field = {"id": field_id, "key": key, "type": "dropdown", "title": title, "raw_title": title,
                 "active": True, "position": len(state.organization_fields), "created_at": now, "updated_at": now,
                 "custom_field_options": [{"id": state.next_id("field_option"), "name": name, "raw_name": name,
                                           "value": value} for name, value in options]}
        state.organization_fields[field_id] = field
        return field


def add_organization(state: SandboxState, name: str, *, tags: list[str], fields: dict, now: str) -> dict:
    """An organization; a drop-down field's value (an option's tag) joins its tags, as in Zendesk."""
    with state.lock:
        tags = list(tags)
        for field in state.organization_fields.values():
            value = fields.get(field["key"])
            if value is None:
                continue
            if field["type"] == "dropdown" and value not in [o["value"] for o in field["custom_field_options"]]:
                raise ApiError(422, "RecordInvalid", f"{field['title']}: {value!r} is not one of its options")
            if field["type"] == "dropdown" and value not in tags:
                tags.append(value)
        org_id = state.next_id("organization")
        organization = {"id": org_id, "name": name, "tags": tags, "organization_fields": dict(fields),
                        "created_at": now, "updated_at": now}
        state.organizations[org_id] = organization
        return organization


@bp.get("/api/v2/organization_fields")
def fields():
    """The account's organization fields, by position."""
    state = current().state
    with state.lock:
        found = sorted(state.organization_fields.values(), key=lambda f: (f["position"], f["id"]))
    return offset_page(found, key="organization_fields", path="/api/v2/organization_fields",
                       render=lambda f: {"url": f"{base_url()}/api/v2/organization_fields/{f['id']}.json", **f})


@bp.post("/api/v2/organizations")
@admin_only
def create():
    """Create an organization (201): name, tags, organization_fields."""
    spec = resource_body("organization")
    if not isinstance(spec.get("name"), str) or not spec["name"].strip():
        raise ApiError(422, "RecordInvalid", "Name: cannot be blank")
    sandbox = current()
    organization = add_organization(sandbox.state, spec["name"], tags=list(spec.get("tags") or []),
                                     fields=dict(spec.get("organization_fields") or {}), now=iso(sandbox.now()))
    return {"organization": organization}, 201


@bp.get("/api/v2/organizations/<int:org_id>")
def show(org_id: int):
    organization = current().state.organizations.get(org_id)
    if organization is None:
        raise not_found()
    return {"organization": organization}
