"""The safety team's alerts: messages that matched a safety term, acknowledged or cleared."""
