"""The secret finder: the labelled comments' precision and recall, and what each secret keeps visible."""

from app.hygiene.secret_finder import SecretFinder
from bench.redaction import LABELLED, MIN_PRECISION, MIN_RECALL, score


def test_the_labelled_comments_are_found_with_the_benchmarks_precision_and_recall():
    result = score()
    assert result.comments >= 200 and set(result.languages) == {"en", "fr", "es", "ru", "de", "pt"}
    assert result.precision >= MIN_PRECISION, result.false_positives
    assert result.recall >= MIN_RECALL, result.misses


def test_the_labelled_set_holds_hard_negatives_in_every_language():
    negatives = [line for line in LABELLED.read_text(encoding="utf-8").splitlines() if '"secrets": []' in line]
    assert len(negatives) >= 100
    for shape in ("IBAN", "commit/", "1Z", "+49"):
        assert any(shape in line for line in negatives), shape


def test_a_key_keeps_its_prefix_and_last_four_characters_and_a_password_nothing():
    text = "clé sk_live_51HqLyjWDarjtT1zdp7dcAbCd et mot de passe : Soleil#77."
    key, password = SecretFinder().find(text)
    assert (key.kind, key.shown(text), key.hidden(text)) == ("stripe", "sk_live_…AbCd", "51HqLyjWDarjtT1zdp7dc")
    assert (password.kind, password.hidden(text), password.shown(text)) == ("password", "Soleil#77", "…")


def test_the_desks_own_keys_follow_the_configured_pattern():
    text = "my key odk_live_Q2w3E4r5T6y7U8i9O0p1A2s3D4f5G6h7"
    assert SecretFinder().find(text) == []
    (found,) = SecretFinder(r"odk_live_[A-Za-z0-9]{32}").find(text)
    assert found.kind == "desk_key" and found.shown(text) == "odk_live…G6h7"


def test_what_the_guide_asks_customers_to_share_is_not_a_secret():
    assert SecretFinder().find("our key is sk_live_…AbCd, and the other ends with ghp_…9f2A") == []
    # Once redacted, Zendesk's ▇ leaves nothing that looks like a key: a rescan finds nothing.
    assert SecretFinder().find("sk_live_▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇AbCd") == []
