"""Which greeting ids a line gets during an outage: its own, with the outage greeting in its category's place."""

from app.incident.voice import with_greeting
from app.zendesk.model import Greeting

WELCOME, WAIT, VOICEMAIL, OUTAGE = (Greeting(1, "Welcome", 2), Greeting(2, "Wait music", 3),
                                    Greeting(3, "Voicemail", 1), Greeting(9, "Outage Desk outage (fr)", 3))
KNOWN = {g.id: g for g in (WELCOME, WAIT, VOICEMAIL, OUTAGE)}


def test_the_outage_greeting_takes_the_place_of_the_line_s_greeting_of_its_category():
    assert with_greeting([1, 2, 3], OUTAGE, KNOWN) == (1, 9, 3)


def test_a_line_without_a_greeting_of_that_category_gets_it_added():
    assert with_greeting([3, 1], OUTAGE, KNOWN) == (3, 1, 9)
    assert with_greeting([], OUTAGE, KNOWN) == (9,)


def test_greetings_zendesk_no_longer_lists_are_kept_as_they_are():
    assert with_greeting([77, 2], OUTAGE, KNOWN) == (77, 9)
