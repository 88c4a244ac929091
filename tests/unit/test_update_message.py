"""What an interim update says: texts by language from a file or the sidebar, refused in one line when wrong."""

import json

import pytest

from app.errors import InputError
from app.incident.update_message import message_from_file, message_from_macro, message_from_texts


def test_a_json_file_gives_one_text_per_language(tmp_path):
    path = tmp_path / "update.json"
    path.write_text(json.dumps({"en": " Still down. \n", "pt-BR": "Ainda fora do ar."}), encoding="utf-8")

    message = message_from_file(str(path), "en")

    assert message.texts == {"en": "Still down.", "pt-BR": "Ainda fora do ar."} and message.macro is None


def test_plain_text_is_the_default_languages():
    assert message_from_texts({"fr": "Toujours en panne."}, "fr").texts == {"fr": "Toujours en panne."}


def test_plain_text_file(tmp_path):
    path = tmp_path / "update.txt"
    path.write_text("[Update] still down\n", encoding="utf-8")
    assert message_from_file(str(path), "en").texts == {"en": "[Update] still down"}


def test_the_same_message_is_stored_the_same_whatever_the_key_order():
    one = message_from_texts({"en": "a", "fr": "b"}, "en").stored()
    two = message_from_texts({"fr": "b", "en": "a"}, "en").stored()
    assert one == two


@pytest.mark.parametrize("content, says", [
    ("", "is empty"),
    (" \n\t", "is empty"),
    ('{"en": ', "not valid JSON"),
    ("{}", "texts by language"),
    ('{"en": 5}', "the en text is empty"),
    ('{"en": "  "}', "the en text is empty"),
    ('{"english!": "Hi"}', "is not a language"),
    ('{"fr": "Bonjour"}', "default language 'en'"),
    ('{"en": "' + "x" * 20_001 + '"}', "longer than"),
    ('{"en": "Hi", "n": 1' + "0" * 5000 + "}", "number too long"),  # Python reads no int over 4300 digits
    ('{"en": "Hi \\ud800"}', "not valid Unicode"),  # a lone surrogate: neither the store nor Zendesk takes it
])
def test_a_bad_message_file_is_refused_in_one_line(tmp_path, content, says):
    path = tmp_path / "update.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=says) as refused:
        message_from_file(str(path), "en")
    assert "\n" not in str(refused.value)


def test_a_missing_or_unreadable_file_is_refused(tmp_path):
    with pytest.raises(InputError, match="no message file"):
        message_from_file(str(tmp_path / "nowhere.json"), "en")
    (tmp_path / "latin1.txt").write_bytes("Panne prolong\xe9e".encode("latin-1"))
    with pytest.raises(InputError, match="cannot read"):
        message_from_file(str(tmp_path / "latin1.txt"), "en")


def test_texts_from_the_sidebar_must_be_an_object():
    for texts in (None, ["en"], "Still down"):
        with pytest.raises(InputError, match="texts by language"):
            message_from_texts(texts, "en")


def test_a_macro_needs_a_title():
    assert message_from_macro(" Outage Desk update ").macro == "Outage Desk update"
    with pytest.raises(InputError):
        message_from_macro("  ")
