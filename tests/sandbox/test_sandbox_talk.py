"""The Talk API as Zendesk documents it: the live queue, phone numbers and their greetings, and no Talk at all."""

from __future__ import annotations

from .support import API_TOKEN, Api

VOICE = "/api/v2/channels/voice"


def test_the_seeded_lines_each_play_their_own_greetings(api):
    listing = api.get(f"{VOICE}/phone_numbers.json").get_json()
    assert listing["count"] == 3 and listing["next_page"] is None
    france = listing["phone_numbers"][0]
    assert (france["country_code"], france["nickname"]) == ("FR", "Support France")
    greetings = {g["id"]: g for g in api.get(f"{VOICE}/greetings.json").get_json()["greetings"]}
    assert [greetings[i]["category_id"] for i in france["greeting_ids"]] == [2, 3]  # available, wait
    assert all(greetings[i]["phone_number_ids"] == [france["id"]] and greetings[i]["active"]
               for i in france["greeting_ids"])
    assert france["categorised_greetings"]["1"] == "voicemail_en" and "voicemail_en" in france["default_greeting_ids"]


def test_the_queue_is_what_the_control_says(api):
    assert api.client.post("/_sandbox/talk/queue", json={"calls_waiting": 120}).status_code == 200
    activity = api.get(f"{VOICE}/stats/current_queue_activity.json").get_json()["current_queue_activity"]
    assert activity["calls_waiting"] == 120 and set(activity) >= {"callbacks_waiting", "average_wait_time",
                                                                   "longest_wait_time", "agents_online"}
    too_many = ",".join(str(i) for i in range(101))
    assert api.get(f"{VOICE}/stats/current_queue_activity.json?phone_number_ids={too_many}").status_code == 400
    assert api.client.post("/_sandbox/talk/queue", json={"calls_waiting": -1}).status_code == 400


def test_a_greeting_is_created_then_given_to_a_line_in_place_of_its_category(api):
    created = api.post(f"{VOICE}/greetings.json", json={"greeting": {"name": "Outage", "category_id": 3}})
    assert created.status_code == 201
    greeting = created.get_json()["greeting"]
    assert (greeting["active"], greeting["phone_number_ids"]) == (False, [])
    line = api.get(f"{VOICE}/phone_numbers/900001.json").get_json()["phone_number"]

    updated = api.put(f"{VOICE}/phone_numbers/900001.json",
                      json={"phone_number": {"greeting_ids": [line["greeting_ids"][0], greeting["id"]]}})

    assert updated.status_code == 200
    assert updated.get_json()["phone_number"]["greeting_ids"] == [line["greeting_ids"][0], greeting["id"]]
    assert api.get(f"{VOICE}/greetings/{greeting['id']}.json").get_json()["greeting"]["phone_number_ids"] == [900001]


def test_bad_greetings_and_line_updates_are_refused_as_zendesk_does(api):
    blank = api.post(f"{VOICE}/greetings.json", json={"greeting": {"category_id": 42}})
    assert blank.status_code == 422 and set(blank.get_json()["details"]) == {"name", "category_id"}
    line = api.get(f"{VOICE}/phone_numbers/900001.json").get_json()["phone_number"]
    two_waits = api.put(f"{VOICE}/phone_numbers/900001.json",
                        json={"phone_number": {"greeting_ids": line["greeting_ids"] + [910004]}})
    unknown = api.put(f"{VOICE}/phone_numbers/900001.json", json={"phone_number": {"greeting_ids": [1]}})
    assert two_waits.status_code == unknown.status_code == 422
    assert api.get(f"{VOICE}/phone_numbers/424242.json").status_code == 404
    assert api.get(f"{VOICE}/phone_numbers/900001.json").get_json()["phone_number"] == line


def test_agents_read_and_only_admins_write(api):
    agent = api.state.add_user("Ana Agent", email="ana@example.com", role="agent")
    as_agent = Api(api.app, email=agent["email"], token=API_TOKEN)
    assert as_agent.get(f"{VOICE}/stats/current_queue_activity.json").status_code == 200
    renamed = as_agent.put(f"{VOICE}/phone_numbers/900001.json", json={"phone_number": {"nickname": "x"}})
    created = as_agent.post(f"{VOICE}/greetings.json", json={"greeting": {"name": "x", "category_id": 1}})
    assert renamed.status_code == created.status_code == 403


def test_a_refused_line_fails_its_updates_then_takes_them(api):
    api.client.post("/_sandbox/talk/phone_numbers/900002/refuse_updates", json={"count": 1})
    body = {"phone_number": {"nickname": "Support USA"}}
    assert api.put(f"{VOICE}/phone_numbers/900002.json", json=body).status_code == 500
    taken = api.put(f"{VOICE}/phone_numbers/900002.json", json=body)
    assert taken.get_json()["phone_number"]["nickname"] == "Support USA"


def test_an_account_without_talk_is_refused_every_talk_endpoint(api):
    api.client.post("/_sandbox/talk/enabled", json={"enabled": False})
    for path in ("stats/current_queue_activity.json", "phone_numbers.json", "greetings.json"):
        answer = api.get(f"{VOICE}/{path}")
        assert answer.status_code == 403 and answer.get_json()["error"]["title"] == "Forbidden"
    assert api.get("/api/v2/users/me.json").status_code == 200  # the rest of the account works
