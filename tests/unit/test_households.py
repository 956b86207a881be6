"""Households without HTTP: created by staff, joined by invitation, found by search."""

import itertools
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.models import (
    AuditEvent,
    GuardianRelationship,
    Guardianship,
    Household,
    Invitation,
    Notification,
    Role,
    Student,
    User,
)
from portal.services import accounts, households
from portal.services.errors import DomainError, InvalidInput, InvalidToken, NotAllowed, NotFound
from portal.services.households import sis_import
from portal.services.translated import translated
from tests import factories

NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
SETTINGS = households.InvitationSettings(valid_days=21, secret_key="unit-test-secret")
Guardian = households.GuardianDetails
Kid = households.StudentDetails


def count(db, model, *where):
    return db.scalar(select(func.count()).select_from(model).where(*where))


def create(db, actor, name="Rivera family", guardians=None, students=None, **kwargs):
    guardians = guardians if guardians is not None else [Guardian("Alex Rivera", "alex@example.org")]
    students = students if students is not None else [Kid("Sofia", "Rivera")]
    return households.create_household(db, actor, name, guardians, students, SETTINGS, now=NOW, **kwargs)


# Creating a household -------------------------------------------------------------------


def test_staff_create_a_household_with_guardians_students_invitations_and_an_audit_event(db):
    staff = factories.make_staff(db)
    school = factories.make_school(db)
    created = create(
        db,
        staff,
        guardians=[
            Guardian("Alex Rivera", "Alex@Example.org", GuardianRelationship.MOTHER, "+12135550143", "es"),
            Guardian("Manuel Rivera", "manuel@example.org", GuardianRelationship.GRANDFATHER),
        ],
        students=[Kid("Sofia", "Rivera", school.id, "2", "SIS-1"), Kid("Mateo", "Rivera", grade="K")],
        sis_id="FAM-1",
    )
    db.commit()
    household = created.household
    assert (household.name, household.sis_id) == ("Rivera family", "FAM-1")
    guardians = factories.guardians_of(db, household)
    assert [(g.email, g.role, g.password_hash, g.language) for g in guardians] == [
        ("alex@example.org", Role.FAMILY, None, "es"),
        ("manuel@example.org", Role.FAMILY, None, "en"),
    ]
    assert guardians[0].phone == "+12135550143"
    relationships = db.scalars(select(Guardianship.relationship_to_students).order_by(Guardianship.id)).all()
    assert relationships == [GuardianRelationship.MOTHER, GuardianRelationship.GRANDFATHER]
    students = db.scalars(select(Student).order_by(Student.id)).all()
    assert [(s.full_name, s.school_id, s.grade, s.sis_id) for s in students] == [
        ("Sofia Rivera", school.id, "2", "SIS-1"),
        ("Mateo Rivera", None, "K", None),
    ]
    assert [i.invitation.user_id for i in created.invitations] == [g.id for g in guardians]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "household.created"))
    assert (event.actor_id, event.household_id) == (staff.id, household.id)
    assert [email.lower() for email in event.after["guardians"]] == ["alex@example.org", "manuel@example.org"]


def test_creating_a_household_commits_nothing_itself(db):
    # The caller commits the household, its invitation emails and its audit event together.
    staff = factories.make_staff(db)
    create(db, staff, guardians=[Guardian("Ana Lee", "ana@example.org"), Guardian("Ben Lee", "ben@example.org")])
    assert count(db, Notification) == 2
    db.rollback()
    assert count(db, Household) == count(db, User, User.role == Role.FAMILY) == 0
    assert count(db, Notification) == count(db, AuditEvent) == count(db, Invitation) == 0


def test_every_guardian_invitation_email_carries_its_own_link(db):
    staff = factories.make_staff(db)
    created = create(
        db, staff, guardians=[Guardian("Ana Lee", "ana@example.org"), Guardian("Ben Lee", "ben@example.org")]
    )
    db.commit()
    emails = db.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(n.template, n.to_address) for n in emails] == [
        ("invitation", "ana@example.org"),
        ("invitation", "ben@example.org"),
    ]
    assert [n.payload["token"] for n in emails] == [i.token for i in created.invitations]


def test_a_family_account_cannot_create_a_household(db):
    family = factories.make_user(db)
    with pytest.raises(NotAllowed):
        create(db, family)


def test_a_household_needs_a_guardian(db):
    with pytest.raises(InvalidInput) as refused:
        create(db, factories.make_staff(db), guardians=[])
    assert refused.value.field == "guardians"


def test_a_guardian_email_already_in_use_is_reported_on_that_guardians_field(db):
    staff = factories.make_staff(db)
    factories.make_user(db, email="taken@example.org")
    with pytest.raises(InvalidInput) as refused:
        create(
            db,
            staff,
            guardians=[Guardian("Ana Lee", "ana@example.org"), Guardian("Ben Lee", "TAKEN@example.org ")],
        )
    assert refused.value.field == "guardians-1-email"
    assert "already exists" in str(refused.value.message)


def test_the_same_email_twice_in_one_household_is_reported_on_the_second_guardian(db):
    staff = factories.make_staff(db)
    with pytest.raises(InvalidInput) as refused:
        create(db, staff, guardians=[Guardian("Ana Lee", "ana@example.org"), Guardian("Ana Too", "ana@example.org")])
    assert refused.value.field == "guardians-1-email"


def test_a_household_sis_id_must_be_unique(db):
    staff = factories.make_staff(db)
    create(db, staff, sis_id="FAM-1")
    db.commit()
    with pytest.raises(InvalidInput) as refused:
        create(db, staff, guardians=[Guardian("Ben Lee", "ben@example.org")], sis_id="FAM-1")
    assert refused.value.field == "sis_id"


def test_a_student_sis_id_must_be_unique(db):
    staff = factories.make_staff(db)
    create(db, staff, students=[Kid("Sofia", "Rivera", sis_id="S-1")])
    db.commit()
    with pytest.raises(InvalidInput) as refused:
        create(
            db,
            staff,
            guardians=[Guardian("Ben Lee", "ben@example.org")],
            students=[Kid("Ana", "Lee"), Kid("Bo", "Lee", sis_id="S-1")],
        )
    assert refused.value.field == "students-1-sis_id"


def test_a_student_at_an_unknown_school_is_refused(db):
    with pytest.raises(InvalidInput) as refused:
        create(db, factories.make_staff(db), students=[Kid("Sofia", "Rivera", school_id=9999)])
    assert refused.value.field == "students-0-school_id"


def test_names_are_stored_without_surrounding_spaces(db):
    created = create(
        db,
        factories.make_staff(db),
        name="  Lee family ",
        guardians=[Guardian("  Ana Lee ", "ana@example.org")],
        students=[Kid(" Bo ", " Lee ")],
    )
    assert created.household.name == "Lee family"
    assert factories.guardians_of(db, created.household)[0].display_name == "Ana Lee"
    assert db.scalar(select(Student)).full_name == "Bo Lee"


# Adding to a household ------------------------------------------------------------------


def test_staff_add_a_guardian_who_is_invited_and_audited(db):
    staff = factories.make_staff(db)
    household = factories.make_household(db)
    issued = households.add_guardian(
        db, staff, household.id, Guardian("Aunt May", "may@example.org", GuardianRelationship.AUNT), SETTINGS, now=NOW
    )
    db.commit()
    assert [g.email for g in factories.guardians_of(db, household)][-1] == "may@example.org"
    assert issued.invitation.user_id == accounts.find_user_by_email(db, "may@example.org").id
    assert count(db, Notification, Notification.template == "invitation") == 1
    assert count(db, AuditEvent, AuditEvent.action == "household.guardian_added") == 1


def test_adding_a_guardian_with_an_email_in_use_is_refused_on_the_email_field(db):
    household = factories.make_household(db)
    taken = factories.make_user(db)
    with pytest.raises(InvalidInput) as refused:
        households.add_guardian(
            db, factories.make_staff(db), household.id, Guardian("X", taken.email), SETTINGS, now=NOW
        )
    assert refused.value.field == "email"


def test_staff_add_a_student_and_it_is_audited(db):
    household = factories.make_household(db, students=0)
    student = households.add_student(db, factories.make_staff(db), household.id, Kid("Bo", "Lee", grade="3"), now=NOW)
    db.commit()
    assert (student.household_id, student.full_name, student.grade) == (household.id, "Bo Lee", "3")
    assert count(db, AuditEvent, AuditEvent.action == "household.student_added", AuditEvent.object_id == student.id)


def test_staff_get_not_found_for_a_missing_household(db):
    staff = factories.make_staff(db)
    attempts = [
        lambda: households.add_student(db, staff, 9999, Kid("Bo", "Lee"), now=NOW),
        lambda: households.add_guardian(db, staff, 9999, Guardian("X", "x@example.org"), SETTINGS, now=NOW),
        lambda: households.household_for_staff(db, staff, 9999),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            attempt()


def test_family_accounts_cannot_use_staff_services(db):
    household = factories.make_household(db)
    family = factories.guardians_of(db, household)[0]
    attempts = [
        lambda: households.add_student(db, family, household.id, Kid("Bo", "Lee"), now=NOW),
        lambda: households.add_guardian(db, family, household.id, Guardian("X", "x@e.org"), SETTINGS, now=NOW),
        lambda: households.household_for_staff(db, family, household.id),
        lambda: households.search_households(db, family, "", page=1, page_size=10),
        lambda: households.reinvite_guardian(db, family, household.id, family.id, SETTINGS, now=NOW),
    ]
    for attempt in attempts:
        with pytest.raises(NotAllowed):
            attempt()


# Reinviting ------------------------------------------------------------------------------


def test_reinviting_a_guardian_revokes_the_earlier_invitation(db):
    staff = factories.make_staff(db)
    created = create(db, staff)
    db.commit()
    guardian_id = created.invitations[0].invitation.user_id
    fresh = households.reinvite_guardian(
        db, staff, created.household.id, guardian_id, SETTINGS, now=NOW + timedelta(hours=1)
    )
    db.commit()
    later = NOW + timedelta(hours=2)
    with pytest.raises(InvalidToken):
        accounts.invitation_by_token(db, created.invitations[0].token, now=later)
    assert accounts.invitation_by_token(db, fresh.token, now=later).id == fresh.invitation.id
    assert count(db, Invitation, Invitation.user_id == guardian_id, Invitation.revoked_at.is_not(None)) == 1


def test_a_guardian_who_already_activated_cannot_be_reinvited(db):
    staff = factories.make_staff(db)
    household = factories.make_household(db, activated=True)
    guardian = factories.guardians_of(db, household)[0]
    with pytest.raises(DomainError):
        households.reinvite_guardian(db, staff, household.id, guardian.id, SETTINGS, now=NOW)
    assert count(db, Invitation) == 0


def test_reinviting_someone_who_is_not_a_guardian_of_that_household_is_not_found(db):
    staff = factories.make_staff(db)
    ours, theirs = factories.make_household(db), factories.make_household(db)
    their_guardian = factories.guardians_of(db, theirs)[0]
    with pytest.raises(NotFound):
        households.reinvite_guardian(db, staff, ours.id, their_guardian.id, SETTINGS, now=NOW)


# What families see ----------------------------------------------------------------------


def test_a_family_sees_its_own_household_with_guardians_and_students(db):
    ours = factories.make_household(db, guardians=2, students=3)
    factories.make_household(db)
    guardian = factories.guardians_of(db, ours)[1]
    (found,) = households.households_for_family(db, guardian)
    assert found.id == ours.id
    assert len(found.guardianships) == 2 and len(found.students) == 3
    assert {m.user.email for m in found.guardianships} == {g.email for g in factories.guardians_of(db, ours)}
    # The home page reads the same household as values, members in the order they were added.
    (shown,) = households.home_households(db, guardian)
    assert (shown.id, shown.name, shown.former) == (ours.id, ours.name, [])
    assert [
        (g.user_id, g.display_name, g.email, g.relationship_to_students, g.activated_at) for g in shown.guardians
    ] == [
        (m.user_id, m.user.display_name, m.user.email, m.relationship_to_students, m.user.activated_at)
        for m in found.guardianships
    ]
    assert [(s.id, s.full_name, s.grade) for s in shown.enrolled] == [
        (s.id, s.full_name, s.grade) for s in found.students
    ]
    assert [s.school and s.school.name for s in shown.enrolled] == [s.school and s.school.name for s in found.students]


def test_a_guardian_of_two_households_sees_both_the_first_joined_first(db):
    first, second, other = (factories.make_household(db) for _ in range(3))
    guardian = factories.guardians_of(db, second)[0]
    db.add(Guardianship(household_id=first.id, user_id=guardian.id))
    db.commit()
    assert [household.id for household in households.households_for_family(db, guardian)] == [second.id, first.id]
    assert [shown.id for shown in households.home_households(db, guardian)] == [second.id, first.id]
    assert list(households.household_names_for_family(db, guardian)) == [second.id, first.id]
    assert other.id not in households.household_names_for_family(db, guardian)


def test_students_no_longer_enrolled_are_apart_and_never_offered(db):
    first, second = factories.make_household(db, students=2), factories.make_household(db, students=1)
    guardian = factories.guardians_of(db, first)[0]
    db.add(Guardianship(household_id=second.id, user_id=guardian.id))
    current, former = db.scalars(select(Student).where(Student.household_id == first.id).order_by(Student.id))
    former.is_active = False
    db.commit()
    shown, other = households.home_households(db, guardian)
    assert ([s.id for s in shown.enrolled], [s.id for s in shown.former]) == ([current.id], [former.id])
    assert ([s.id for s in other.enrolled], other.former) == (
        [db.scalar(select(Student.id).where(Student.household_id == second.id))],
        [],
    )
    offered = households.students_to_ask_about(db, guardian)
    second_student = db.scalar(select(Student.id).where(Student.household_id == second.id))
    assert [s.id for s in offered] == [current.id, second_student]


def test_only_the_schools_the_sis_still_lists_are_offered(db):
    open_school, closed = factories.make_school(db, name="Open"), factories.make_school(db, name="Closed")
    closed.is_active = False
    db.commit()
    assert [s.name for s in households.list_schools(db)] == ["Open"]
    assert [s.name for s in households.list_schools(db, include_inactive=True)] == ["Closed", "Open"]
    assert open_school.is_active
    # The forms' choices are the same schools, as rows, and read in Spanish where named so.
    open_school.translations = {"es": {"name": "Abierta"}}
    db.commit()
    for include_inactive in (False, True):
        rows = households.school_choices(db, include_inactive=include_inactive)
        schools = households.list_schools(db, include_inactive=include_inactive)
        assert [(row.id, row.name) for row in rows] == [(school.id, school.name) for school in schools]
    (row,) = households.school_choices(db)
    assert translated(row, "name", "es") == "Abierta" and translated(row, "name", "en") == "Open"


def test_a_family_gets_not_found_for_another_households_student(db):
    ours, theirs = factories.make_household(db), factories.make_household(db)
    guardian = factories.guardians_of(db, ours)[0]
    their_student = db.scalar(select(Student).where(Student.household_id == theirs.id))
    our_student = db.scalar(select(Student).where(Student.household_id == ours.id))
    assert households.student_for_family(db, guardian, our_student.id).id == our_student.id
    with pytest.raises(NotFound):
        households.student_for_family(db, guardian, their_student.id)


def test_a_family_account_without_a_household_gets_not_found(db):
    with pytest.raises(NotFound):
        households.households_for_family(db, factories.make_user(db))
    with pytest.raises(NotFound):
        households.home_households(db, factories.make_user(db))


# Search ------------------------------------------------------------------------------


@pytest.fixture
def district(db):
    """Two households with guardians, phones and students to search for."""
    school = factories.make_school(db)
    rivera = factories.make_household(db, name="Rivera family", students=0)
    alex = factories.guardians_of(db, rivera)[0]
    alex.display_name, alex.email, alex.phone = "Alex Rivera", "alex.rivera@example.org", "+12135550143"
    db.add(Student(household_id=rivera.id, first_name="Sofia", last_name="Rivera", school_id=school.id, grade="2"))
    nguyen = factories.make_household(db, name="Nguyen family", students=0)
    linh = factories.guardians_of(db, nguyen)[0]
    linh.display_name, linh.email, linh.phone = "Linh Nguyen", "linh@example.net", "+13235550112"
    db.add(Student(household_id=nguyen.id, first_name="An", last_name="Nguyen", grade="6"))
    db.commit()
    return {"rivera": rivera.id, "nguyen": nguyen.id}


def search(db, query, *, page=1, page_size=25):
    staff = db.scalar(select(User).where(User.role == Role.STAFF)) or factories.make_staff(db)
    return households.search_households(db, staff, query, page=page, page_size=page_size)


SEARCHES = {
    "alex": ["rivera"],
    "ALEX RIVERA": ["rivera"],
    "  linh   nguyen ": ["nguyen"],
    "alex.rivera@example": ["rivera"],
    "LINH@EXAMPLE.NET": ["nguyen"],
    "555-0143": ["rivera"],
    "(323) 555-0112": ["nguyen"],
    "0112": ["nguyen"],
    "sofia": ["rivera"],
    "Sofia Rivera": ["rivera"],
    "an nguyen": ["nguyen"],
    "Nguyen family": ["nguyen"],
    "family": ["nguyen", "rivera"],
    "": ["nguyen", "rivera"],
    "nobody": [],
    "555": [],  # fewer than four digits do not search phone numbers
}


def test_staff_find_households_by_guardian_name_email_phone_digits_and_student_name(db, district):
    wrong = {}
    for query, expected in SEARCHES.items():
        found = search(db, query)
        ids = [h.id for h in found.items]
        if ids != [district[key] for key in expected] or found.total != len(expected):
            wrong[query] = ids
    assert wrong == {}


def test_search_finds_names_whatever_their_accents(db, district):
    garcia = factories.make_household(db, name="García Peña family", students=0)
    factories.guardians_of(db, garcia)[0].display_name = "José García"
    # A last name stored with its marks apart from the letters, as some exports write it.
    ibanez = unicodedata.normalize("NFD", "Ibáñez")
    db.add(Student(household_id=garcia.id, first_name="Zoë", last_name=ibanez, grade="3"))
    db.commit()
    queries = ["garcia", "GARCÍA", "jose garcia", "pena family", "zoe", "ibanez", "Zoë Ibáñez", "ZOE IBANEZ"]
    found = {query: [h.id for h in search(db, query).items] for query in queries}
    assert {query: ids for query, ids in found.items() if ids != [garcia.id]} == {}


@pytest.mark.parametrize(
    ("name", "queries"),
    [
        # Case is compared by the database's own rule on both sides, so text typed as it is
        # stored is found in any script, a final sigma included.
        ("ΠΑΠΑΔΟΠΟΥΛΟΣ family", ["ΠΑΠΑΔΟΠΟΥΛΟΣ", "ΠΑΠΑΔΌΠΟΥΛΟΣ", "παπαδοπουλ", "ΟΣ FAMILY"]),
        ("Иванова family", ["Иванова", "ИВАНОВА", "иванова", "ива"]),
        ("Ærøskøbing family", ["ærøskobing", "ÆRØSKØBING"]),
    ],
)
def test_search_finds_names_in_other_scripts_typed_in_another_case(db, district, name, queries):
    household = factories.make_household(db, name=name, students=0)
    db.commit()
    found = {query: [h.id for h in search(db, query).items] for query in queries}
    assert {query: ids for query, ids in found.items() if ids != [household.id]} == {}


_searched_words = itertools.count()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.booleans(), st.lists(st.booleans(), min_size=1, max_size=3)), min_size=1, max_size=5))
def test_a_household_found_by_its_name_and_by_its_guardians_emails_is_one_card(db, households_matching):
    """However many of a household's name and guardians' emails hold the words, it is listed
    and counted once; one that none holds them is not listed."""
    word = f"kestrel{next(_searched_words)}q"  # found in this example's households only
    expected = []
    for index, (name_matches, emails_match) in enumerate(households_matching):
        name = f"{word if name_matches else 'Other'} family {index}"
        household = factories.make_household(db, name=name, guardians=len(emails_match), students=0)
        for guardian, email_matches in zip(factories.guardians_of(db, household), emails_match, strict=True):
            guardian.email = f"{word if email_matches else 'someone'}.{guardian.id}@example.org"
        if name_matches or any(emails_match):
            expected.append(household.id)
    db.commit()
    found = search(db, word, page_size=100)
    assert sorted(card.id for card in found.items) == sorted(expected)
    assert found.total == len(expected)


def test_search_treats_like_wildcards_as_plain_characters(db, district):
    factories.make_household(db, name="Garcia family", students=0)
    assert search(db, "garcia").total == 1
    wildcards = ["ga%cia", "gar_ia", "%arcia", "_arcia", "\\garcia", "_lex"]
    assert {wildcard: search(db, wildcard).total for wildcard in wildcards} == dict.fromkeys(wildcards, 0)


@pytest.mark.parametrize("query", ["a", "é", "%", "_", "%%", "\\", "a%n", "a b c", "@", "5-5-5", "\x00"])
def test_a_search_without_two_letters_or_digits_in_a_row_is_not_searched(db, district, query):
    """It would read every household and guardian and match nearly all (text_search.has_run_of):
    the list is the unsearched one (the search box says why)."""
    assert not households.searchable(query)
    assert search(db, query) == search(db, "")


def test_a_two_letter_search_finds_names_not_every_email_that_holds_the_letters(db, district):
    ma = factories.make_household(db, name="Ma family", students=0)
    factories.guardians_of(db, ma)[0].email = "kim.ma@example.org"
    gmail = factories.make_household(db, name="Smith family", students=0)
    factories.guardians_of(db, gmail)[0].email = "smith@gmail.com"
    db.commit()
    found = [card.id for card in search(db, "ma", page_size=100).items]
    assert ma.id in found and gmail.id not in found
    assert [card.id for card in search(db, "gmail").items] == [gmail.id]  # three letters: emails too


@pytest.mark.parametrize("query", ["wu", "NG", "Ng", "Wú"])
def test_a_short_surname_of_two_letters_is_searched(db, district, query):
    le = factories.make_household(db, name="Lê Wu Ng family", students=0)
    smith = factories.make_household(db, name="Smith family", students=0)
    assert households.searchable(query)
    found = [card.id for card in search(db, query, page_size=100).items]
    assert le.id in found and smith.id not in found


def test_search_results_carry_guardians_and_students_names_for_the_list(db, district):
    found = search(db, "rivera")
    [household] = found.items
    assert (household.id, household.name) == (district["rivera"], "Rivera family")
    assert (household.guardian_names, household.student_names) == (["Alex Rivera"], ["Sofia Rivera"])


def test_each_card_has_its_own_members_in_the_order_they_joined(db):
    """A page of cards is read in three statements; every household keeps its own guardians
    and students, in the order a household page lists them, and one without students
    has none."""
    full = factories.make_household(db, name="Ortiz family", guardians=3, students=0)
    empty = factories.make_household(db, name="Ortiz-Lee family", students=0)
    for first in ("Zoe", "Ana", "Luis"):
        db.add(Student(household_id=full.id, first_name=first, last_name="Ortiz", grade="3"))
    db.commit()
    cards = {card.id: card for card in search(db, "ortiz").items}
    assert cards.keys() == {full.id, empty.id}
    assert cards[full.id].guardian_names == [g.display_name for g in factories.guardians_of(db, full)]
    assert len(cards[full.id].guardian_names) == 3
    assert cards[full.id].student_names == ["Zoe Ortiz", "Ana Ortiz", "Luis Ortiz"]
    assert cards[empty.id].guardian_names == [g.display_name for g in factories.guardians_of(db, empty)]
    assert cards[empty.id].student_names == []


def test_search_pages_through_results_in_name_order(db):
    for letter in "EDCBA":
        factories.make_household(db, name=f"{letter} family")
    first = search(db, "family", page=1, page_size=2)
    last = search(db, "family", page=3, page_size=2)
    assert [h.name for h in first.items] == ["A family", "B family"]
    assert (first.total, first.pages, first.has_previous, first.has_next) == (5, 3, False, True)
    assert [h.name for h in last.items] == ["E family"]
    assert (last.has_previous, last.has_next) == (True, False)


def test_a_very_long_search_query_is_cut_and_does_not_fail(db, district):
    assert search(db, "x" * 10_000).total == 0


# --- the SIS CSV import never drops a guardian in silence ------------------------------


SIS_HEADER = (
    "household_id,household_name,guardian_name,guardian_email,guardian_phone,guardian_relationship,"
    "guardian_language,student_id,student_first_name,student_last_name,school_code,grade\n"
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["F1", "F2", "F3"]), st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 6)),
        min_size=1,
        max_size=12,
    )
)
def test_every_guardian_row_is_planned_or_refused_with_its_line(db, rows):
    admin = db.scalar(select(User).where(User.email == "sis-admin@example.org")) or factories.make_admin(
        db, email="sis-admin@example.org"
    )
    text = SIS_HEADER + "".join(
        f"{household},{household} family,{guardian.upper()} Guardian,{guardian}@example.org,,,,"
        f"S{household}{student},Kid,{household},,\n"
        for household, guardian, student in rows
    )
    plan = sis_import.plan_import(db, admin, text, languages=("en", "es"), region="US")
    planned = {(p.sis_id, g.email) for p in plan.households for g in p.guardians}
    refused_lines = {line for line, _message in plan.errors}
    for line, (household, guardian, _student) in enumerate(rows, start=2):
        assert (household, f"{guardian}@example.org") in planned or line in refused_lines
    # A guardian is planned in one household at most.
    emails = [email for _household, email in planned]
    assert len(emails) == len(set(emails))
