"""The values Zendesk allows for a ticket's status, priority and type, in Zendesk's own order.

https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#json-format
"""

STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_TYPES = ("problem", "incident", "question", "task")
