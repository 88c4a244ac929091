"""Benchmarks of Outage Desk against the sandbox: `python -m bench` from the repository root."""
