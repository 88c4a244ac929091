"""Which subjects count as the same: the significant words, whatever the case, punctuation or language."""

from app.incident.detection import subject_key


def test_the_same_complaint_written_differently_has_one_key():
    assert subject_key("API down") == subject_key("The API is DOWN!!") == subject_key("Is the api down?") == "api down"
    assert subject_key("L'API est en panne") == subject_key("API en panne ?") == "api panne"
    assert subject_key("Не работает API") == subject_key("API не работает!") == "api работает"


def test_numbers_and_greetings_say_nothing_about_what_is_broken():
    assert subject_key("Hello, error 503 at 9:00") == subject_key("Bonjour: error 502") == "error"
    assert subject_key("Hi!") is None and subject_key("") is None
