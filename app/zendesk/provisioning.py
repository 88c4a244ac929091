"""`setup`: make a Zendesk account ready for Outage Desk, idempotently, planned before written.

Every object is looked up first and compared with what `triggers/`, `macros/` and `greetings/` define; the
plan is complete (and every conflict found) before the first write, so nothing is half-made.
Macros are created once and then belong to the admins who edit them in Zendesk: setup keeps an
existing one, after checking Outage Desk can send it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from app.config import Config
from app.errors import InputError, PermissionDenied, TalkUnavailable
from app.incident.sla_plans import Plans, read_plans
from app.zendesk.gateway import ZendeskGateway
from app.zendesk.macro import Macro, variant_language
from app.zendesk.model import Greeting
from app.zendesk.sla_provisioning import automations, same_policy, sla_policies

DEFINITIONS_ROOT = Path(__file__).resolve().parents[2]  # triggers/, macros/ and greetings/ sit beside app/
WEBHOOK_NAME = "Outage Desk"
WEBHOOK_PATH = "/webhooks/zendesk"
IMPACT_OPTIONS = (("1 - Cannot use the product", "impact_1"), ("2 - A major feature is down", "impact_2"),
                  ("3 - Slowed down, with a workaround", "impact_3"), ("4 - A question", "impact_4"))


@dataclass
class Step:
    """One object of the plan and what setup will do to it."""

    kind: str
    name: str
    action: str  # create | update | add option | reorder | unchanged
    run: Callable[[dict[str, str]], None] | None = field(default=None, repr=False)

    def describe(self) -> str:
        return f"{self.action:<10} {self.kind} {self.name!r}"


@dataclass
class Plan:
    steps: list[Step]
    notes: list[str] = field(default_factory=list)  # what setup could not do, and why: printed, not failed

    @property
    def changes(self) -> list[Step]:
        return [step for step in self.steps if step.action != "unchanged"]


def option_tag(name: str) -> str:
    """The tag Zendesk-style for a drop-down option name ("A::B/C" -> "a__b_c")."""
    tag = re.sub(r"[^0-9a-z]+", "_", name.lower().replace("::", " __ ")).strip("_")
    return re.sub(r"_*__+_*", "__", tag)


def load_definitions(folder: Path, key: str, substitutions: dict[str, str]) -> list[dict[str, Any]]:
    """The JSON objects of `folder` (API format, wrapped in `key`), with $PLACEHOLDERS filled in."""
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(Template(path.read_text(encoding="utf-8")).safe_substitute(substitutions))
        except ValueError as error:
            raise InputError(f"{path.name}: {error}") from None
        found.append(data[key])
    return found


def _same(desired: dict[str, Any], actual: dict[str, Any]) -> bool:
    """Whether Zendesk already holds every key we define, with the same value."""
    return all(_normal(value) == _normal(actual.get(key)) for key, value in desired.items())


def _normal(value: Any) -> Any:
    # Zendesk stores booleans in actions as strings ("true") and may add keys we do not set.
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


class Provisioner:
    """Builds the plan against the account, then applies it in dependency order."""

    def __init__(self, gateway: ZendeskGateway, config: Config, service_url: str, tag: str = "api_down",
                 cr_value: str = "Technical Issue::TI/Status Wavy", root: Path = DEFINITIONS_ROOT):
        if not service_url.startswith(("https://", "http://")):
            raise InputError("the service URL must start with https:// (or http:// for a local sandbox)")
        self.gateway = gateway
        self.config = config
        self.endpoint = service_url.rstrip("/") + WEBHOOK_PATH
        self.tag = tag
        self.cr_value = cr_value
        self.root = root

    def plan(self) -> Plan:
        """Everything setup would do, computed from reads only.

        :raises PermissionDenied: the API user is not an admin.
        :raises InputError: an existing object conflicts with ours.
        """
        me = self.gateway.me()
        if me.role != "admin":
            raise PermissionDenied(f"setup needs an admin's API token; {me.email or me.id} is {me.role}")
        plans = self.plans()
        fields = self.gateway.list_all("ticket_fields.json", "ticket_fields")
        steps = [self._field_step(fields, self.config.outage_desk_cr_field, [(self.cr_value, option_tag(self.cr_value))]),
                 self._field_step(fields, self.config.outage_desk_impact_field, list(IMPACT_OPTIONS), all_or_none=True)]
        webhook_step, webhook = self._webhook_step()
        steps.append(webhook_step)
        # An unknown id until the webhook exists: compare with the real one when there is one.
        webhook_id = webhook["id"] if webhook else "$WEBHOOK_ID"
        triggers = load_definitions(self.root / "triggers", "trigger", {"WEBHOOK_ID": webhook_id, "OUTAGE_TAG": self.tag})
        steps += self._by_title("trigger", "triggers", self.gateway.list_all("triggers.json", "triggers"), triggers)
        steps += self._policy_steps(self.gateway.list_all("slas/policies.json", "sla_policies"), sla_policies(plans))
        wanted = json.loads(json.dumps(automations()).replace("$WEBHOOK_ID", webhook_id))
        steps += self._by_title("automation", "automations", self.gateway.list_all("automations.json", "automations"),
                                wanted)
        steps += self._macro_steps(self.gateway.list_all("macros.json", "macros"),
                                   load_definitions(self.root / "macros", "macro", {}))
        notes: list[str] = []
        try:
            greetings = load_definitions(self.root / "greetings", "greeting", {})
            steps += self._greeting_steps(self.gateway.greetings(), greetings)
        except TalkUnavailable as error:
            # Everything else still works without Talk; the voice watch says so again if an outage comes.
            notes.append(f"outage greetings not created: {error}")
        return Plan(steps, notes)

    def plans(self) -> Plans:
        """The SLA plans' tags, from the configured organisation field when one is named.

        :raises InputError: that field is missing or unfit, in one line.
        """
        return read_plans(self.gateway, self.config)

    def apply(self, plan: Plan) -> dict[str, str]:
        """Run the plan's changes in order; returns what later steps and the caller learnt (the webhook)."""
        learnt: dict[str, str] = {}
        for step in plan.steps:
            if step.run:
                step.run(learnt)
        return learnt

    # -- fields ------------------------------------------------------------------

    def _field_step(self, fields: list[dict], wanted: str, options: list[tuple[str, str]],
                    all_or_none: bool = False) -> Step:
        matches = [f for f in fields if wanted in (str(f.get("id")), f.get("title"))]
        if not matches:
            if wanted.isdigit():
                raise InputError(f"no ticket field with id {wanted}")
            data = {"type": "tagger", "title": wanted,
                    "custom_field_options": [{"name": name, "value": value} for name, value in options]}
            return Step("ticket field", wanted, "create",
                        lambda learnt: self.gateway.create("ticket_fields.json", "ticket_field", data))
        found = matches[0]
        if found.get("type") != "tagger":
            raise InputError(f"the ticket field {wanted!r} exists but is a {found.get('type')}, not a drop-down")
        existing = found.get("custom_field_options") or []
        names = {o["name"] for o in existing}
        missing = [(name, value) for name, value in options if name not in names]
        if all_or_none and existing:
            # An account's own business-impact field keeps its options; we only read its levels.
            missing = []
        if not missing:
            return Step("ticket field", wanted, "unchanged")

        def add_options(learnt: dict[str, str]) -> None:
            for name, value in missing:
                self.gateway.create(f"ticket_fields/{found['id']}/options.json", "custom_field_option",
                                    {"name": name, "value": value})
        return Step("ticket field", f"{wanted}: {', '.join(n for n, _ in missing)}", "add option", add_options)

    # -- webhook -----------------------------------------------------------------

    def _webhook_step(self) -> tuple[Step, dict | None]:
        desired = {"name": WEBHOOK_NAME, "status": "active", "endpoint": self.endpoint, "http_method": "POST",
                   "request_format": "json", "subscriptions": ["conditional_ticket_events"]}
        found = [w for w in self.gateway.list_all("webhooks", "webhooks") if w.get("name") == WEBHOOK_NAME]
        if not found:
            def create(learnt: dict[str, str]) -> None:
                learnt["webhook_id"] = self.gateway.create("webhooks", "webhook", desired)["id"]
                learnt["webhook_secret"] = self.gateway.webhook_secret(learnt["webhook_id"])
            return Step("webhook", WEBHOOK_NAME, "create", create), None
        webhook = found[0]
        if webhook.get("subscriptions") != ["conditional_ticket_events"]:
            raise InputError(f"a webhook named {WEBHOOK_NAME!r} exists but is connected to events, not triggers; "
                             "Zendesk cannot change that: rename or delete it, then run setup again")

        def remember(learnt: dict[str, str]) -> None:
            learnt["webhook_id"] = webhook["id"]
            learnt["webhook_secret"] = self.gateway.webhook_secret(webhook["id"])

        if _same(desired, webhook):
            return Step("webhook", WEBHOOK_NAME, "unchanged", remember), webhook

        def update(learnt: dict[str, str]) -> None:
            self.gateway.update(f"webhooks/{webhook['id']}", "webhook", desired)
            remember(learnt)
        return Step("webhook", WEBHOOK_NAME, "update", update), webhook

    # -- macros --------------------------------------------------------------

    def _macro_steps(self, existing: list[dict], wanted: list[dict]) -> list[Step]:
        """Create our macros that are missing; keep the ones the account holds, checked.

        Admins edit a macro's text in Zendesk once setup has made it, so an existing macro is never
        overwritten. Every macro declare and resolve would send, ours and the account's, must be one
        Outage Desk can apply (Macro.from_json): setup refuses rather than leave an empty or unsafe one.

        :raises InputError: naming the macro and the action.
        """
        protected = {self.tag, option_tag(self.cr_value)}
        for data in wanted:
            Macro.from_json(data).check_removals(protected)
        for data in existing:
            if self._sent_by_outage_desk(data):
                Macro.from_json(data).check_removals(protected)
        titles = {data.get("title") for data in existing}
        return [Step("macro", data["title"], "unchanged") if data["title"] in titles
                else Step("macro", data["title"], "create", self._writer("macro", "macros", data, None))
                for data in wanted]

    def _sent_by_outage_desk(self, macro: dict) -> bool:
        """Whether declare or resolve would send this macro, as gateway.macros finds them: the
        configured id, or an active macro of the configured title family."""
        # OUTAGE_DESK_ACK_MACRO=off (no acknowledgement) would only match a macro titled "off".
        return any(name == str(macro.get("id"))
                   or (macro.get("active") and variant_language(macro.get("title") or "", name) is not None)
                   for name in (self.config.outage_desk_closing_macro, self.config.outage_desk_ack_macro))

    # -- talk greetings --------------------------------------------------------

    def _greeting_steps(self, existing: list[Greeting], wanted: list[dict]) -> list[Step]:
        """Create the outage greeting of each language that is missing, by name. Like macros, an existing
        one is the admins' (who record or upload its audio from the definition's script) and is kept."""
        names = {greeting.name for greeting in existing}

        def creator(data: dict) -> Callable[[dict[str, str]], None]:
            return lambda learnt: self.gateway.create_greeting(data["name"], data["category_id"])
        return [Step("greeting", data["name"], "unchanged") if data["name"] in names
                else Step("greeting", data["name"], "create", creator(data)) for data in wanted]

    # -- SLA policies ----------------------------------------------------------

    def _policy_steps(self, existing: list[dict], wanted: list[dict]) -> list[Step]:
        """One policy per plan, by title; created in match order, as Zendesk places each new one last."""
        by_title = {policy.get("title"): policy for policy in existing}
        steps = []
        for data in wanted:
            current = by_title.get(data["title"])
            if current is not None and same_policy(data, current):
                steps.append(Step("SLA policy", data["title"], "unchanged"))
                continue

            def write(learnt: dict[str, str], data: dict = data, current: dict | None = current) -> None:
                if current is None:
                    self.gateway.create("slas/policies.json", "sla_policy", data)
                else:
                    self.gateway.update(f"slas/policies/{current['id']}.json", "sla_policy", data)
            steps.append(Step("SLA policy", data["title"], "create" if current is None else "update", write))
        return steps + self._order_step(existing, [data["title"] for data in wanted])

    def _order_step(self, existing: list[dict], titles: list[str]) -> list[Step]:
        """Our policies matched in our order (the default plan's, which takes every ticket left, last), in the
        places they hold among the account's own: a policy created later, or one an admin moved, is put back."""
        def in_order(policies: list[dict]) -> list[dict]:
            return sorted(policies, key=lambda policy: (policy.get("position") or 0, policy.get("id") or 0))
        known = {policy.get("title") for policy in existing}
        after = [policy.get("title") for policy in in_order(existing)] + [t for t in titles if t not in known]
        if [title for title in after if title in titles] == titles:
            return []

        def reorder(learnt: dict[str, str]) -> None:
            policies = in_order(self.gateway.list_all("slas/policies.json", "sla_policies"))
            ours = {policy["title"]: policy for policy in policies if policy.get("title") in titles}
            slots = iter(ours[title] for title in titles)
            ordered = [next(slots) if policy.get("title") in titles else policy for policy in policies]
            self.gateway.reorder_sla_policies([policy["id"] for policy in ordered])
        return [Step("SLA policies", ", ".join(titles), "reorder", reorder)]

    # -- triggers ------------------------------------------------------------

    def _by_title(self, kind: str, path: str, existing: list[dict], wanted: list[dict]) -> list[Step]:
        by_title = {item.get("title"): item for item in existing}
        steps = []
        for data in wanted:
            current = by_title.get(data["title"])
            if current is not None and kind in ("trigger", "automation"):
                # Whether an existing trigger is on is the account's, or Outage Desk's at run time (it
                # switches "ticket updated" on at declare and off at resolve): setup leaves it as it is,
                # and an automation an admin switched off stays off.
                data = {key: value for key, value in data.items() if key != "active"}
            if current is not None and _same(data, current):
                steps.append(Step(kind, data["title"], "unchanged"))
                continue
            action = "create" if current is None else "update"
            steps.append(Step(kind, data["title"], action, self._writer(kind, path, data, current)))
        return steps

    def _writer(self, kind: str, path: str, data: dict, current: dict | None) -> Callable[[dict[str, str]], None]:
        def write(learnt: dict[str, str]) -> None:
            # The webhook may only now exist: put its id in the trigger's action.
            body = json.loads(json.dumps(data).replace("$WEBHOOK_ID", learnt.get("webhook_id", "$WEBHOOK_ID")))
            if current is None:
                self.gateway.create(f"{path}.json", kind, body)
            else:
                self.gateway.update(f"{path}/{current['id']}.json", kind, body)
        return write
