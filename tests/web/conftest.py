"""Fixtures that web tests share; a module that needs another `household` (or `staff`) defines its own."""

import pytest

from tests import factories
from tests.conftest import Browser


@pytest.fixture
def guardian(db, household):  # type: ignore[no-untyped-def]
    """The first guardian of the module's household."""
    return factories.guardians_of(db, household)[0]


@pytest.fixture
def family(guardian, sign_in) -> Browser:  # type: ignore[no-untyped-def]
    """The guardian, signed in."""
    return sign_in(guardian)


@pytest.fixture
def transport(db):  # type: ignore[no-untyped-def]
    """The Transportation department, open to families."""
    return factories.make_department(db, "Transportation", description="Bus stops, routes and late buses.")


@pytest.fixture
def special_ed(db):  # type: ignore[no-untyped-def]
    return factories.make_department(db, "Special Education")


@pytest.fixture
def school(db):  # type: ignore[no-untyped-def]
    return factories.make_school(db, name="Lincoln Elementary")


@pytest.fixture
def household(db):  # type: ignore[no-untyped-def]
    """The household of the family that takes part; modules that need another define their own."""
    return factories.make_household(db, name="Alvarez family")


@pytest.fixture
def staff(db, transport):  # type: ignore[no-untyped-def]
    """Robin Ortiz, staff of Transportation, not signed in."""
    user = factories.make_staff(db, name="Robin Ortiz")
    factories.join(db, user, transport)
    return user


@pytest.fixture
def desk(staff, sign_in) -> Browser:  # type: ignore[no-untyped-def]
    """The staff member of Transportation, signed in."""
    return sign_in(staff)


@pytest.fixture
def stranger(app, db) -> Browser:  # type: ignore[no-untyped-def]
    """A guardian of another household, signed in on a client of their own."""
    browser = Browser(app.test_client(), app)
    browser.sign_in(factories.guardians_of(db, factories.make_household(db))[0].email)
    return browser


@pytest.fixture
def as_admin(admin, sign_in) -> Browser:  # type: ignore[no-untyped-def]
    """The administrator, signed in."""
    return sign_in(admin)
