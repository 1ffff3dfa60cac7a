"""Activation: the changes of the memberships rules.yml acts on (a rule's tag, a grade, a segment), written per run
to an outbox per destination for a CRM import or a webhook sender to pick up (docs/activation.md)."""
