"""Outage Desk: runs a support team's outage process on Zendesk."""

__version__ = "0.1.0"
