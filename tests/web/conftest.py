"""Fixtures that web tests share; each module defines the `household` it needs."""

import pytest

from tests import factories
from tests.conftest import Browser


@pytest.fixture
def admin(db):  # type: ignore[no-untyped-def]
    """An administrator, not signed in."""
    return factories.make_admin(db)


@pytest.fixture
def guardian(db, household):  # type: ignore[no-untyped-def]
    """The first guardian of the module's household."""
    return factories.guardians_of(db, household)[0]


@pytest.fixture
def family(guardian, sign_in) -> Browser:  # type: ignore[no-untyped-def]
    """The guardian, signed in."""
    return sign_in(guardian)
