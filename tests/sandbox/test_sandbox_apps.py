"""The Apps API and Zendesk's signed-URL token: what the sidebar's page is loaded with."""

from __future__ import annotations

import jwt
import pytest

from .support import API_TOKEN, Api


@pytest.fixture
def installation(api) -> dict:
    app_id = api.get("/api/v2/apps/owned.json").get_json()["apps"][0]["id"]
    response = api.post("/api/v2/apps/installations.json",
                        json={"app_id": app_id, "settings": {"name": "Outage Desk", "service_url": "https://od.test"}})
    assert response.status_code == 201
    return response.get_json()


def test_an_installation_is_shown_unwrapped_with_its_app(api, installation):
    shown = api.get(f"/api/v2/apps/installations/{installation['id']}.json").get_json()
    assert (shown["id"], shown["app_id"], shown["settings"]["service_url"]) == (
        installation["id"], installation["app_id"], "https://od.test")
    assert api.get("/api/v2/apps/installations/1.json").status_code == 404
    assert [i["id"] for i in api.get("/api/v2/apps/installations.json").get_json()["installations"]] == [
        installation["id"]]


def test_the_public_key_is_for_everyone_and_verifies_the_token_zendesk_posts(api, installation, agents, clock):
    anonymous = api.client.get(f"/api/v2/apps/{installation['app_id']}/public_key.pem")
    assert anonymous.status_code == 200 and anonymous.data.startswith(b"-----BEGIN PUBLIC KEY-----")
    agent = agents["agent"]
    token = api.client.post(f"/_sandbox/apps/installations/{installation['id']}/signed_url",
                            json={"user_id": agent["id"]}).get_json()["token"]
    base = "http://localhost"
    claims = jwt.decode(token, anonymous.data, algorithms=["RS256"], issuer="localhost",
                        audience=f"{base}/api/v2/apps/installations/{installation['id']}.json",
                        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False})
    assert claims["sub"] == f"{base}/api/v2/users/{agent['id']}.json"
    assert claims["exp"] - claims["iat"] == 300 and claims["iat"] == int(clock.now().timestamp())
    assert claims["cnf"]["jku"] == f"{base}/api/v2/apps/{installation['app_id']}/public_key.pem"
    assert claims["context"] == {"product": "support", "location": "ticket_sidebar"}


def test_only_admins_install_and_only_agents_open_apps(api, agents, installation):
    agent = Api(api.app, email=agents["agent"]["email"], token=API_TOKEN)
    refused = agent.post("/api/v2/apps/installations.json",
                         json={"app_id": installation["app_id"], "settings": {"name": "x"}})
    assert refused.status_code == 403
    bad = api.post("/api/v2/apps/installations.json", json={"app_id": 1, "settings": {"name": "x"}})
    assert bad.status_code == 400
    customer = api.client.post(f"/_sandbox/apps/installations/{installation['id']}/signed_url",
                               json={"user_id": agents["customer"]["id"]})
    assert customer.status_code == 400
