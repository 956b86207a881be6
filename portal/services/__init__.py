"""Business rules, between the tables (portal.models) and the views (portal.blueprints).
No Flask here: services take a database session and the acting user, flush, and raise
the typed errors of `errors`; the request boundary commits.

One package per part of the product:
- `accounts`: accounts and sign-in (passwords, two-factor, sessions, email change,
  staff accounts, security events).
- `households`: households, contacts, notes, the SIS import, the data download, who looked.
- `requests`: requests: intake, the conversation, the staff queue, promises and business
  time, escalation, satisfaction.
- `feedback`: intake, routing, review, handling, sentiment.
- `calendar`: the district calendar and its `.ics` import.
- `notifications`: the outbox.

And what every part uses: `scope` (household scoping and staff visibility),
`departments` (staff membership and promised reply times), `audit`, `errors`, `text`,
`csv_export`, `uploads`, `pagination`.
"""
