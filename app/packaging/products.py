"""The products apps run in and the locations each offers (product.rb, location.rb)."""

from __future__ import annotations

from typing import Any

# product.rb and location.rb: (product, legacy name) and (product, location, v2_only).
PRODUCTS = (("support", "zendesk"), ("chat", "zopim"), ("standalone_chat", "lotus_box"), ("sell", "sell"))
LOCATIONS = (
    [("support", name, name in ("modal", "ticket_editor"))
     for name in ("top_bar", "nav_bar", "ticket_sidebar", "new_ticket_sidebar", "user_sidebar",
                  "organization_sidebar", "background", "modal", "ticket_editor", "system_top_bar",
                  "custom_object_record_sidebar")]
    + [("chat", "chat_sidebar", True), ("chat", "background", True),
       ("standalone_chat", "nav_bar", False), ("standalone_chat", "system_top_bar", False)]
    + [("sell", name, True) for name in ("deal_card", "person_card", "company_card", "lead_card", "background",
                                         "modal", "dashboard", "note_editor", "call_log_editor", "email_editor",
                                         "top_bar", "visit_editor")]
)
# Package#validate's default leaves custom_object_record_sidebar switched off, so it counts as unknown.
GATED_LOCATION = "custom_object_record_sidebar"


def known_location(product: str, name: Any) -> tuple[str, str, bool] | None:
    """The ``LOCATIONS`` entry for ``name`` in ``product``, or None where the product has no such location."""
    return next((loc for loc in LOCATIONS if loc[0] == product and loc[1] == name), None)
