"""During act two: the phone queue overflows (routing alert, outage greeting on every line) and the agents take
more chats; once the outage is over, every line and setting is as it was."""

from __future__ import annotations

from dataclasses import dataclass

import requests

from app.demo.stage import Stage, wait


@dataclass
class Before:
    lines: dict[str, list[int]]  # phone line id -> its greeting ids before the outage greeting
    chats_per_agent: int


def chats_per_agent(stage: Stage) -> int:
    """What Zendesk's Chat API says (read as Outage Desk reads it, with the Chat OAuth token)."""
    answer = requests.get(f"{stage.sandbox_url}/api/v2/chat/routing_settings/account", timeout=10,
                          headers={"Authorization": f"Bearer {stage.config.outage_desk_chat_oauth_token}"})
    answer.raise_for_status()
    return answer.json()["data"]["chat_limit"]["limit"]


def phone_lines(stage: Stage) -> dict[str, list[int]]:
    return requests.get(f"{stage.sandbox_url}/_sandbox/talk", timeout=10).json()["lines"]


def callers_waiting(stage: Stage, calls: int) -> None:
    requests.post(f"{stage.sandbox_url}/_sandbox/talk/queue", json={"calls_waiting": calls},
                  timeout=10).raise_for_status()


def during_the_outage(stage: Stage, incident_id: int, before: Before, as_admin) -> None:
    """The queue crosses 5 twice without falling back (one alert), then 100 (every line switched); the admin
    ticks the checklist's wrap-up item, which has no API."""
    figures, alerts = stage.figures, "shut down routing"
    wait(lambda: chats_per_agent(stage) != before.chats_per_agent, timeout=30)
    figures.add("Chats per agent while declared (Chat API, routing settings)",
                f"{before.chats_per_agent} → {chats_per_agent(stage)}",
                chats_per_agent(stage) == stage.config.outage_desk_outage_chats_per_agent)
    already = len(stage.slack.saying(alerts))
    for calls in (7, 9, 6):
        callers_waiting(stage, calls)
        wait(lambda: len(stage.slack.saying(alerts)) > already, timeout=5)
    figures.add("Callers waiting 7, 9, 6: \"shut down routing\" alerts on Slack",
                len(stage.slack.saying(alerts)) - already, len(stage.slack.saying(alerts)) - already == 1)
    callers_waiting(stage, 120)
    wait(lambda: _switched(stage, before) == len(before.lines), timeout=30)
    switched = _switched(stage, before)
    figures.add("Callers waiting 120: lines playing the outage greeting", f"{switched} / {len(before.lines)}",
                switched == len(before.lines))
    checklist = as_admin("GET", "/state", params={"ticket_id": 1}).json()["agent_settings"]["checklist"]
    wrap_up = next((item for item in checklist if item["setting"] == "wrap_up" and item["phase"] == "declare"), None)
    ticked = as_admin("POST", f"/incidents/{incident_id}/checklist/{wrap_up['item']}") if wrap_up else None
    figures.add("Wrap-up time (no API): on the admins' checklist, ticked in the sidebar",
                f"{wrap_up['text'] if wrap_up else 'missing'} → {ticked.status_code if ticked else '-'}",
                ticked is not None and ticked.status_code == 200)
    callers_waiting(stage, 0)


def after_the_outage(stage: Stage, before: Before) -> None:
    figures = stage.figures
    wait(lambda: phone_lines(stage) == before.lines and chats_per_agent(stage) == before.chats_per_agent, timeout=30)
    same = sum(1 for line, greetings in phone_lines(stage).items() if before.lines.get(line) == greetings)
    figures.add("After the resolve: lines with their own greetings again", f"{same} / {len(before.lines)}",
                same == len(before.lines))
    figures.add("After the resolve: chats per agent", chats_per_agent(stage),
                chats_per_agent(stage) == before.chats_per_agent)


def _switched(stage: Stage, before: Before) -> int:
    return sum(1 for line, greetings in phone_lines(stage).items() if greetings != before.lines.get(line))
