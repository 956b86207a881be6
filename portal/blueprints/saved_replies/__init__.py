"""Saved replies: kept by department leads and administrators, offered on request pages."""
