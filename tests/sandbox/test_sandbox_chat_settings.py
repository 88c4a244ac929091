"""The Chat API's routing settings: Chat's own OAuth token only, the documented values only, nested objects merged."""

from __future__ import annotations

import pytest

from .support import API_TOKEN

CHAT_TOKEN = "chat-client-token"
ROUTING = "/api/v2/chat/routing_settings/account"


@pytest.fixture
def chat(make_api):
    api = make_api(chat_oauth_token=CHAT_TOKEN)
    headers = {"Authorization": f"Bearer {CHAT_TOKEN}"}

    def call(method: str, body: dict | None = None, **kwargs):
        return api.client.open(ROUTING, method=method, json=body, headers=kwargs.get("headers", headers))
    call.api = api
    return call


def test_support_credentials_do_not_open_the_chat_api(chat, make_api):
    basic = chat.api.get(ROUTING)  # the Support API token, as basic auth
    support_bearer = chat("GET", headers={"Authorization": f"Bearer {API_TOKEN}"})
    no_chat = make_api().client.get(ROUTING, headers={"Authorization": f"Bearer {CHAT_TOKEN}"})
    for refused in (basic, support_bearer, no_chat):
        assert refused.status_code == 401
        assert refused.get_json()["error"] == "Unauthorized"


def test_the_chat_limit_is_read_wrapped_in_data_and_patched_in_part(chat):
    shown = chat("GET")
    assert shown.status_code == 200
    assert shown.get_json()["data"]["chat_limit"] == {"enabled": True, "limit": 2, "limit_type": "account",
                                                      "allow_agent_override": False}

    patched = chat("PATCH", {"chat_limit": {"limit": 5}})

    assert patched.status_code == 200
    assert patched.get_json()["data"]["chat_limit"] == {"enabled": True, "limit": 5, "limit_type": "account",
                                                        "allow_agent_override": False}
    assert chat("GET").get_json() == patched.get_json()
    logged = chat.api.state.calls[-2]
    assert (logged["endpoint"], logged["status"]) == (f"PATCH {ROUTING}", 200)


@pytest.mark.parametrize("body", [
    {"chat_limit": {"limit": 21}}, {"chat_limit": {"limit": -1}}, {"chat_limit": {"limit": "5"}},
    {"chat_limit": {"limit": True}}, {"chat_limit": {"limit_type": "team"}}, {"chat_limit": {"enabled": "yes"}},
    {"chat_limit": {"capacity": 5}}, {"chat_limit": 5}, {"routing_mode": "round_robin"}, {"chats_per_agent": 5},
])
def test_values_outside_the_documented_ones_are_refused_and_change_nothing(chat, body):
    before = chat("GET").get_json()

    refused = chat("PATCH", body)

    assert refused.status_code == 400 and refused.get_json()["error"] == "InvalidParameter"
    assert chat("GET").get_json() == before
