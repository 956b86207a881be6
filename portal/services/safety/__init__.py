"""Safety: messages that say a child may be in danger.

- `matcher`: the district's safety terms found in a text (whole words and phrases, in any
  case, with or without accents, in the spellings typed on a phone).
- `terms`: the built-in English and Spanish terms, and benign phrases that share their words.
- `alerts`: new requests, family messages and feedback flagged as they are saved (a flush
  listener), the safety team told at once and again until someone acknowledges; the
  terms and the team kept by administrators; the alert log.

Blueprints import the modules by name (`from portal.services.safety import matcher`).
"""

from portal.services.safety import alerts, matcher, terms

__all__ = ["alerts", "matcher", "terms"]
