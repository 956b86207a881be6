"""Administrators: a OneRoster export imported in the background: uploaded, read into a
dry run to review, then written by the worker once approved."""
