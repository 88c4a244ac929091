"""`python -m zendesk_sandbox --help`: the sandbox on its own, without Outage Desk."""

from zendesk_sandbox.runner import main

main()
