"""Zendesk Talk's records for the sandbox: phone lines, greetings and the live queue, behind their own lock.

Shapes follow Zendesk's Talk API reference:
https://developer.zendesk.com/api-reference/voice/talk-api/phone_numbers/ (greeting_ids: the line's custom
greetings; categorised_greetings and default_greeting_ids read-only),
https://developer.zendesk.com/api-reference/voice/talk-api/greetings/ (category_id mandatory and writable on
create only; active and phone_number_ids derived from the lines), and
https://developer.zendesk.com/api-reference/voice/talk-api/stats/ (current_queue_activity's counters).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

# The fixed greeting categories Zendesk lists at GET /api/v2/channels/voice/greeting_categories.
CATEGORIES = {1: "voicemail", 2: "available", 3: "wait", 4: "hold", 5: "ivr", 6: "callback",
              7: "callback_confirmation", 8: "call_recording_opt_out", 9: "call_recording_opt_in"}
QUEUE_FIELDS = ("agents_online", "ai_agent_calls", "average_wait_time", "callbacks_waiting", "calls_waiting",
                "embeddable_callbacks_waiting", "longest_wait_time")
FIRST_LINE_ID, FIRST_GREETING_ID = 900001, 910001
CREATED_AT = "2024-03-01T09:00:00Z"


@dataclass
class TalkState:
    """The account's Talk channel. `enabled=False` is an account without Talk: every Talk endpoint refuses.

    `refused_updates`: phone line id -> how many more updates of it fail (a test's fault, see control_talk).
    """

    enabled: bool = True
    lines: dict[int, dict] = field(default_factory=dict)
    greetings: dict[int, dict] = field(default_factory=dict)
    queue: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUEUE_FIELDS, 0))
    refused_updates: dict[int, int] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self):
        self._line_ids = itertools.count(FIRST_LINE_ID)
        self._greeting_ids = itertools.count(FIRST_GREETING_ID)

    @classmethod
    def seeded(cls) -> TalkState:
        """Three lines (France, United States, Germany), each with its own welcome and wait greetings."""
        talk = cls()
        for number, display, country, nickname, language in (
                ("+33187654321", "+33 1 87 65 43 21", "FR", "Support France", "fr"),
                ("+14155550123", "+1 (415) 555-0123", "US", "Support US", "en"),
                ("+4930123456", "+49 30 123456", "DE", "Support Deutschland", "de")):
            welcome = talk.add_greeting(f"Welcome {nickname}", 2, default_lang=language == "en")
            wait = talk.add_greeting(f"Wait music {nickname}", 3)
            talk.add_line(number, display, country, nickname, [welcome["id"], wait["id"]])
        talk.queue.update(agents_online=4)
        return talk

    def add_greeting(self, name: str, category_id: int, default_lang: bool = False) -> dict:
        with self.lock:
            greeting_id = next(self._greeting_ids)
            greeting = {"id": greeting_id, "name": name, "category_id": category_id, "default": False,
                        "default_lang": default_lang, "has_sub_settings": False, "pending": False,
                        "audio_name": None, "audio_url": None, "upload_id": None, "ivr_ids": []}
            self.greetings[greeting_id] = greeting
            return greeting

    def add_line(self, number: str, display: str, country: str, nickname: str, greeting_ids: list[int]) -> dict:
        with self.lock:
            line_id = next(self._line_ids)
            line = {"id": line_id, "number": number, "display_number": display, "country_code": country,
                    "nickname": nickname, "greeting_ids": list(greeting_ids), "voice_enabled": True,
                    "sms_enabled": False, "capabilities": {"sms": False, "mms": False, "voice": True},
                    "toll_free": False, "recorded": False, "transcription": False, "external": False,
                    "line_type": "phone", "default_group_id": None, "brand_id": None, "created_at": CREATED_AT}
            self.lines[line_id] = line
            return line

    def line_json(self, line: dict) -> dict:
        """A phone number as the API shows it: the custom greetings, then what each category plays."""
        by_category = {str(g["category_id"]): g["name"] for g in map(self.greetings.get, line["greeting_ids"]) if g}
        categorised = {str(cid): by_category.get(str(cid), f"{name}_en") for cid, name in list(CATEGORIES.items())[:5]}
        defaults = [f"{name}_en" for cid, name in list(CATEGORIES.items())[:5] if str(cid) not in by_category]
        return {**line, "greeting_ids": list(line["greeting_ids"]), "categorised_greetings": categorised,
                "default_greeting_ids": defaults}

    def greeting_json(self, greeting: dict) -> dict:
        """A greeting with the lines that use it (`active` when there is one)."""
        used_by = [line["id"] for line in self.lines.values() if greeting["id"] in line["greeting_ids"]]
        return {**greeting, "active": bool(used_by), "phone_number_ids": used_by}
