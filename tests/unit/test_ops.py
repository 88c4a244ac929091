"""/healthz and /metrics, for whoever runs the service."""


def test_healthz_checks_the_store(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_metrics_show_the_inbox_backlog(client, webhooks):
    webhooks.ticket_event(1)
    webhooks.ticket_event(2)
    body = client.get("/metrics").get_data(as_text=True)
    assert "outage_desk_inbox_backlog 2" in body.splitlines()
