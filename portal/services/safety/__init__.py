"""Safety: messages that say a child may be in danger.

- `matcher`: the district's safety terms found in a text (whole words and phrases, in any
  case, with or without accents, in the spellings typed on a phone).
- `terms`: the built-in English and Spanish terms, and benign phrases that share their words.

Blueprints import the modules by name (`from portal.services.safety import matcher`).
"""

from portal.services.safety import matcher, terms

__all__ = ["matcher", "terms"]
