"""Alerts: rules over the stored events, channels that carry their messages, and the
outbox that delivers them at least once."""
