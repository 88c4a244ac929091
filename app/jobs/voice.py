"""Watch the phone queue while an outage is declared, and give the lines their greetings back after it."""

from __future__ import annotations

from app.incident.service import OutageDesk
from app.incident.voice import VoiceReport


def watch_voice(desk: OutageDesk) -> VoiceReport:
    """One poll of Talk's queue (OUTAGE_DESK_VOICE_POLL_SECONDS apart).

    :raises OutageDeskError: Zendesk failed a read; the next poll tries again.
    """
    return desk.voice.poll()
