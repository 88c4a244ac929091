"""Act two: an outage nobody declared. Detection suspects it, the product referent confirms it in the sidebar,
an admin posts an interim update and resolves from the sidebar; the worker does every Zendesk write."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from app.demo.aftercare_and_hygiene import (
    premium_call_during_the_outage, still_broken_after_the_fix, the_same_customer_calls,
)
from app.demo.phones_and_chats import Before, after_the_outage, during_the_outage
from app.demo.stage import ADMIN_ID, Stage, wait
from app.incident.model import State

SUBJECT = "Login page stays blank"
# What each customer writes, in their language; the subject is what the desk's agents would see first.
CUSTOMERS = (
    ("fr", "La page de connexion reste blanche depuis 10 h."),
    ("es", "La página de inicio de sesión se queda en blanco."),
    ("ru", "Страница входа остаётся пустой."),
    ("de", "Die Anmeldeseite bleibt leer."),
    ("en-US", "The login page is blank since this morning."),
    ("fr", "Impossible de me connecter, la page est blanche."),
)
UPDATE_TEXTS = {
    "en": "Update: we found the cause of the blank login page and are deploying a fix. Next update within the hour.",
    "fr": "Point d'étape : nous avons trouvé la cause de la page de connexion blanche et déployons un correctif.",
    "es": "Actualización: encontramos la causa de la página de inicio en blanco y estamos desplegando una corrección.",
    "ru": "Новости: мы нашли причину пустой страницы входа и выкатываем исправление.",
    "de": "Update: Wir haben die Ursache der leeren Anmeldeseite gefunden und spielen eine Korrektur ein.",
    "pt": "Atualização: encontramos a causa da página de login em branco e estamos aplicando uma correção.",
}


@dataclass
class SecondOutage:
    incident_id: int
    tickets: list[int]
    before: Before  # the phone lines and chat settings as they were
    duplicate: int  # a customer's call, merged into their email


def play_suspected_outage(stage: Stage, referent_id: int, before: Before, organisation_id: int,
                          ) -> SecondOutage | None:
    """The confirmed incident and its tickets, left declared: `close_suspected_outage` resolves it. `before`: the
    phone lines and chat settings as the account had them before any outage; `organisation_id`: a Premium one."""
    desk, figures = stage.desk, stage.figures
    figures.section("Act two: a suspected outage, confirmed and run from the sidebar")
    tickets = [stage.new_ticket({"subject": SUBJECT, "description": text, "channel": "email",
                                 "requester": {"name": f"Login client {n}", "email": f"login-{n}@example.org",
                                               "phone": f"+4930555000{n}", "locale": language}})
               for n, (language, text) in enumerate(CUSTOMERS)]
    threshold = desk.config.outage_desk_detect_threshold
    wait(lambda: _suspicion_holding(desk, tickets), timeout=60)
    found = _suspicion_holding(desk, tickets)
    written = sum(stage.emails_since(0)[t] for t in tickets)
    figures.add(f"Suspected from {len(tickets)} new tickets on one subject (threshold {threshold}); "
                "emails written on suspicion", f"{found[1].count if found else 0} tickets; {written} emails",
                bool(found) and written == 0)
    if not found:
        return None
    incident_id = found[0].id

    as_referent = stage.sidebar(referent_id)
    # Act one's customers who asked for an invoice copy made a cluster of their own: no outage, dismissed.
    others = [incident for incident in desk.suspected_incidents() if incident.id != incident_id]
    dismissed = [as_referent("POST", f"/incidents/{incident.id}/dismiss").status_code for incident in others]
    figures.add("Other suspicions dismissed in the sidebar by the referent (\"Invoice copy\" tickets)",
                len(dismissed), all(code == 200 for code in dismissed))
    seen = as_referent("GET", "/state", params={"ticket_id": tickets[0]}).json()["suspected"]
    figures.add("The referent's sidebar shows it", f"\"{seen['tickets']} tickets like this one\"" if seen else "nothing",
                bool(seen) and seen["tickets"] == len(tickets))
    confirmed = as_referent("POST", f"/incidents/{incident_id}/confirm")
    wait(lambda: desk.progress(incident_id).taken >= len(tickets), timeout=60)
    taken = desk.progress(incident_id).taken
    figures.add("Confirmed in the sidebar by the product referent (answer); its tickets taken in",
                f"{confirmed.status_code}; {taken} / {len(tickets)}",
                confirmed.status_code == 202 and taken == len(tickets))

    premium_call_during_the_outage(stage, incident_id, organisation_id, SUBJECT)
    duplicate = the_same_customer_calls(stage, tickets[3], phone="+49305550003", subject=SUBJECT)

    as_admin = stage.sidebar(ADMIN_ID)
    mark = stage.outbox()
    posted = as_admin("POST", f"/incidents/{incident_id}/updates", json={"texts": UPDATE_TEXTS})
    wait(lambda: all(_update_emails(stage, mark)[t] for t in tickets), timeout=60)
    # A different text: the same one again is taken for a retry of the first and answered with it.
    again = as_admin("POST", f"/incidents/{incident_id}/updates", json={"texts": {"en": "Still working on it."}})
    updates = _update_emails(stage, mark)
    per_ticket = Counter(updates[t] for t in tickets)
    figures.add("Interim update posted from the sidebar: emails per ticket (count of tickets)",
                ", ".join(f"{n}: {count}" for n, count in sorted(per_ticket.items())),
                posted.status_code == 202 and set(per_ticket) == {1})
    in_language = sum(1 for t in tickets if _update_in_language(stage, t, mark))
    figures.add("Interim update in each requester's language", f"{in_language} / {len(tickets)}",
                in_language == len(tickets))
    figures.add("A second update within 30 minutes", f"refused ({again.status_code})", again.status_code == 409)
    during_the_outage(stage, incident_id, before, as_admin)
    return SecondOutage(incident_id, tickets, before, duplicate)


def close_suspected_outage(stage: Stage, outage: SecondOutage) -> None:
    """An admin clicks Resolve in the sidebar; the worker sends the closing emails and puts the phone lines and
    the chat settings back."""
    desk, figures, incident_id, tickets = stage.desk, stage.figures, outage.incident_id, outage.tickets
    mark = stage.outbox()
    resolving = stage.sidebar(ADMIN_ID)("POST", f"/incidents/{incident_id}/resolve")
    wait(lambda: desk.incident(incident_id).state == State.RESOLVED, timeout=90)
    emails = stage.emails_since(mark)
    per_ticket = Counter(emails[t] for t in tickets)
    figures.add("Resolved from the sidebar: closing emails per ticket (count of tickets); to the merged call",
                ", ".join(f"{n}: {count}" for n, count in sorted(per_ticket.items())) + f"; {emails[outage.duplicate]}",
                resolving.status_code == 202 and set(per_ticket) == {1} and not emails[outage.duplicate])
    changes = " → ".join(f"{change.to_state} ({change.changed_by})" for change in desk.state_changes(incident_id))
    figures.add("State changes recorded, with who", changes, desk.incident(incident_id).state == State.RESOLVED)
    after_the_outage(stage, outage.before)
    still_broken_after_the_fix(stage, tickets[0])


def _suspicion_holding(desk, tickets: list[int]):
    """The suspected incident whose cluster holds every one of these tickets, with its cluster."""
    found = desk.suspected_for(tickets[0])
    if found and set(tickets) <= {row.ticket_id for row in found[1].sightings}:
        return found
    return None


def _update_emails(stage: Stage, mark: int) -> Counter:
    with stage.state.lock:
        return Counter(email["ticket_id"] for email in stage.state.emails[mark:]
                       if any(text[:40] in email["body"] for text in UPDATE_TEXTS.values()))


def _update_in_language(stage: Stage, ticket_id: int, mark: int) -> bool:
    with stage.state.lock:
        locale = stage.state.users[stage.state.tickets[ticket_id]["requester_id"]].get("locale", "en")
        expected = UPDATE_TEXTS.get(locale.split("-")[0], UPDATE_TEXTS["en"])[:40]
        return any(expected in email["body"] for email in stage.state.emails[mark:] if email["ticket_id"] == ticket_id)
