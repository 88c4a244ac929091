"""Show Account Settings: the account's time zone, as agents read it, and the control that changes it."""

from __future__ import annotations

from .support import Api, API_TOKEN


def test_agents_read_the_accounts_time_zone_which_the_admin_changes(api, agents):
    shown = api.get("/api/v2/account/settings.json")
    assert shown.status_code == 200
    assert shown.get_json()["settings"]["localization"]["iana_time_zone"] == "Etc/UTC"

    changed = api.client.post("/_sandbox/account/time_zone",
                              json={"time_zone": "Paris", "iana_time_zone": "Europe/Paris"})
    assert changed.status_code == 200

    agent = Api(api.app, email=agents["agent"]["email"], token=API_TOKEN)
    localization = agent.get("/api/v2/account/settings").get_json()["settings"]["localization"]
    assert (localization["time_zone"], localization["iana_time_zone"]) == ("Paris", "Europe/Paris")
    assert api.client.get("/api/v2/account/settings").status_code == 401  # without credentials


def test_an_unknown_time_zone_is_refused(api):
    for body in ({"time_zone": "Mars", "iana_time_zone": "Mars/Olympus"}, {"time_zone": "Paris"},
                 {"time_zone": "", "iana_time_zone": "Europe/Paris"}):
        refused = api.client.post("/_sandbox/account/time_zone", json=body)
        assert refused.status_code == 400, body
    assert api.get("/api/v2/account/settings").get_json()["settings"]["localization"]["iana_time_zone"] == "Etc/UTC"
