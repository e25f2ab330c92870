"""Playbooks' use cases (issue 20): definitions, the feed of triggers, the durable schedule,
sending under the contact policy, and the report of their effect."""
