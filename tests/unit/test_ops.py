"""/healthz and /metrics, for whoever runs the service."""

from app.store.tables import IncidentRow, NotificationRow


def test_healthz_checks_the_store(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_metrics_show_the_inbox_backlog(client, webhooks):
    webhooks.ticket_event(1)
    webhooks.ticket_event(2)
    body = client.get("/metrics").get_data(as_text=True)
    assert "outage_desk_inbox_backlog 2" in body.splitlines()


def test_metrics_show_a_resolving_incident_and_its_replies_still_to_go(client, sessions, clock):
    with sessions() as session:
        session.add(IncidentRow(id=1, title="API down", kind="unplanned", severity=2, tag="api_down", cr_value="cr",
                                query="API", state="resolving", started_at=clock.now()))
        session.add_all([NotificationRow(incident_id=1, ticket_id=ticket_id, audience="assigned", language="fr",
                                         kind="email", state=state, updated_stamp="s", updated_at=clock.now())
                         for ticket_id, state in ((10, "sent"), (11, "sent"), (12, "retry"))])
        session.commit()

    lines = client.get("/metrics").get_data(as_text=True).splitlines()

    assert 'outage_desk_incidents{state="resolving"} 1' in lines
    assert 'outage_desk_incidents{state="declared"} 0' in lines
    assert 'outage_desk_closing_replies{state="sent"} 2' in lines
    assert 'outage_desk_closing_replies{state="retry"} 1' in lines
