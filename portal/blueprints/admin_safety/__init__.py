"""Administrators: the safety team, the safety terms and the log of safety alerts."""
