"""services.households.oneroster: OneRoster 1.1 / 1.2 CSV exports read into families.

Pure: no app, no database. Every export is built here from small CSV texts.
"""

import struct
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.services.errors import InvalidInput
from portal.services.households import oneroster, oneroster_files
from portal.services.households.oneroster import RefusedRow, Roster, grade_label, normalize_grade, read_export
from portal.services.households.oneroster_grades import GRADE_CODES
from tests.oneroster_exports import (
    ENROLLMENT_HEADER,
    ORG_HEADER,
    ORGS,
    ROLE_HEADER,
    USER_HEADER,
    USER_HEADER_12,
    enrollment,
    files,
    guardian,
    manifest,
    student,
    table,
    zipped,
)


def households(roster: Roster) -> set[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    return {(h.key, tuple(h.student_ids), tuple(h.guardian_ids)) for h in roster.households}


def family_of(roster: Roster, student_id: str) -> list[str]:
    return next(h.guardian_ids for h in roster.households if student_id in h.student_ids)


# --- Versions and shapes of exports ---------------------------------------------------------------------


def test_a_1_1_zip_export_is_read_into_schools_students_guardians_and_households():
    users = [
        student("stu-1", "par-1,par-2", grades="KG,01", identifier="1001"),
        student("stu-2", "par-1", givenName="Leo", orgSourcedIds="sch-1,sch-2"),
        guardian("par-1", familyName="Garcia", phone="+1 555 0100"),
        guardian("par-2", "stu-1", role="guardian", givenName="Luis", familyName="Ortiz"),
        guardian("par-3", "stu-3", role="relative"),
        student("stu-3", familyName="Kim"),
        {"sourcedId": "tea-1", "role": "teacher", "givenName": "Tess", "familyName": "Ng", "email": "tess@example.org"},
    ]
    enrollments = [
        enrollment("e1", "stu-1", "sch-1"),
        enrollment("e2", "stu-1", "sch-2", primary="true"),
        enrollment("e3", "tea-1", "sch-1", role="teacher"),
    ]
    sessions = "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n"
    sessions += "ay-25,active,,2024-2025,schoolYear,,,,2025\nay-26,active,,2025-2026,schoolYear,,,,2026\n"
    sessions += "t1,active,,Fall,term,,,,x\n"
    contents = files(
        users, enrollments=enrollments, academicSessions_csv=sessions, classes_csv="sourcedId,title\nc,x\n"
    )
    contents["demographics.csv"] = b"sourcedId,status,dateLastModified,birthDate,sex\nstu-1,active,,2015-03-01,female\n"
    contents["manifest.csv"] = manifest(
        orgs="bulk", users="bulk", enrollments="bulk", academicSessions="bulk", demographics="bulk", classes="bulk"
    ).encode()

    roster = read_export(zipped(contents))

    assert (roster.version, roster.school_year, roster.refused) == ("1.1", "2026", [])
    assert roster.mode["users.csv"] == "bulk" and roster.mode["academicsessions.csv"] == "bulk"
    assert [(s.sourced_id, s.name, s.identifier) for s in roster.schools] == [
        ("sch-1", "Lincoln Elementary", "LIN"),
        ("sch-2", "Roosevelt Middle", "ROO"),
    ]
    first = roster.students["stu-1"]
    assert (first.given_name, first.family_name, first.grade, first.identifier) == ("Ana", "Garcia", "KG", "1001")
    assert first.school_sourced_id == "sch-2"  # the primary enrollment, over orgSourcedIds
    assert roster.students["stu-2"].school_sourced_id == "sch-1"  # no enrollment: the first school of its orgs
    parent = roster.guardians["par-1"]
    assert (parent.display_name, parent.email, parent.phone, parent.relationship) == (
        "Maria Garcia",
        "par-1@example.org",
        "+1 555 0100",
        "parent",
    )
    assert roster.guardians["par-2"].relationship == "legal_guardian"
    assert roster.guardians["par-3"].relationship == "other"
    assert family_of(roster, "stu-1") == ["par-1", "par-2"]
    assert family_of(roster, "stu-2") == ["par-1"]
    assert family_of(roster, "stu-3") == ["par-3"]
    assert {h.name for h in roster.households} == {"Garcia family"}
    assert roster.not_families == 1 and "tea-1" not in roster.students and "tea-1" not in roster.guardians
    assert roster.shared_custody() == ["par-1"]
    assert all(h.key.startswith("or-") and len(h.key) <= 40 for h in roster.households)


def test_a_1_2_export_takes_roles_from_roles_csv_and_the_school_from_the_primary_org():
    users = [
        student("stu-1", "par-1", primaryOrgSourcedId="sch-2", preferredGivenName="Annie"),
        guardian("par-1"),
        {
            "sourcedId": "usr-9",
            "givenName": "Tom",
            "familyName": "Lee",
            "email": "tom@example.org",
            "agentSourcedIds": "stu-2",
        },
        student("stu-2"),
        {"sourcedId": "usr-7", "givenName": "Pat", "familyName": "Ray", "email": "pat@example.org"},
    ]
    roles = [
        {
            "sourcedId": "r1",
            "userSourcedId": "stu-1",
            "roleType": "primary",
            "role": "student",
            "orgSourcedId": "sch-1",
        },
        {"sourcedId": "r2", "userSourcedId": "par-1", "roleType": "primary", "role": "parent", "orgSourcedId": "sch-1"},
        {
            "sourcedId": "r3",
            "userSourcedId": "stu-2",
            "roleType": "primary",
            "role": "student",
            "orgSourcedId": "sch-1",
        },
        # A teacher who is also a parent: the family role counts.
        {
            "sourcedId": "r4",
            "userSourcedId": "usr-9",
            "roleType": "primary",
            "role": "teacher",
            "orgSourcedId": "sch-1",
        },
        {
            "sourcedId": "r5",
            "userSourcedId": "usr-9",
            "roleType": "secondary",
            "role": "parent",
            "orgSourcedId": "sch-1",
        },
        {"sourcedId": "r6", "userSourcedId": "usr-7", "roleType": "primary", "role": "districtAdministrator"},
        {"sourcedId": "r7", "userSourcedId": "stu-2", "status": "tobedeleted", "role": "teacher"},
    ]
    contents = {
        "manifest.csv": manifest("1.2", orgs="bulk", users="bulk", roles="bulk", enrollments="absent"),
        "orgs.csv": table(ORG_HEADER, ORGS),
        "users.csv": table(USER_HEADER_12, users),
        "roles.csv": table(ROLE_HEADER, roles),
    }

    roster = read_export(zipped({name: text.encode() for name, text in contents.items()}))

    assert (roster.version, roster.refused, roster.not_families) == ("1.2", [], 1)
    assert roster.students["stu-1"].school_sourced_id == "sch-2"  # primaryOrgSourcedId first
    assert roster.students["stu-1"].given_name == "Annie"
    assert roster.students["stu-2"].school_sourced_id == "sch-1"  # the org of its role
    assert roster.guardians["usr-9"].relationship == "parent"
    assert family_of(roster, "stu-2") == ["usr-9"]
    assert "enrollments.csv" not in roster.mode


def test_a_1_2_users_csv_without_role_needs_roles_csv():
    users = table(USER_HEADER_12, [{"sourcedId": "stu-1", "givenName": "A", "familyName": "B"}])
    with pytest.raises(InvalidInput) as refused:
        read_export({"users.csv": users.encode()})
    assert refused.value.field == "file"
    assert "users.csv" in str(refused.value.message) and "role" in str(refused.value.message)


def test_files_given_one_by_one_without_a_manifest_are_bulk():
    contents = files([student("stu-1", "par-1"), guardian("par-1")])
    del contents["manifest.csv"]
    contents["Export/Users.CSV"] = contents.pop("users.csv")

    roster = read_export(contents)

    assert roster.mode == {"orgs.csv": "bulk", "users.csv": "bulk", "enrollments.csv": "bulk"}
    assert roster.version == "1.1"
    assert family_of(roster, "stu-1") == ["par-1"]


def test_an_export_without_users_csv_or_manifest_is_refused():
    with pytest.raises(InvalidInput) as refused:
        read_export({"orgs.csv": table(ORG_HEADER, ORGS).encode()})
    assert "users.csv" in str(refused.value.message)


def test_a_file_the_manifest_lists_as_absent_is_not_read():
    contents = files([student("stu-1", "par-1"), guardian("par-1")])
    contents["manifest.csv"] = manifest(users="bulk", orgs="absent", enrollments="absent").encode()
    roster = read_export(contents)
    assert roster.schools == [] and roster.students["stu-1"].school_sourced_id is None


# --- Deltas, dates and deactivations ----------------------------------------------------------------------


def test_since_skips_rows_not_changed_but_keeps_their_families_and_keys():
    users = [
        student("stu-1", "par-1,par-2"),
        student("stu-2", "par-3", dateLastModified="2025-09-10"),
        student("stu-3", "par-1,par-2", dateLastModified="2025-09-10T10:00:00+02:00"),
        guardian("par-1"),
        guardian("par-2"),
        guardian("par-3", dateLastModified="2025-09-10T08:00:00.000Z"),
        guardian("par-4", "stu-404", email="not an email"),  # unchanged: not reported again
        student("stu-5", "par-5"),
        guardian("par-5"),
    ]
    contents = files(users)
    full = read_export(contents)

    roster = read_export(contents, since=datetime(2025, 9, 1))  # naive: read as UTC

    assert roster.unchanged == 3 + 6  # the orgs, and six users
    assert roster.schools == [] and roster.students["stu-2"].school_sourced_id == "sch-1"
    assert set(roster.students) == {"stu-2", "stu-3"} and set(roster.guardians) == {"par-3"}
    # The household of stu-1 and stu-3 is the same as in a full read; that of stu-5 has not changed.
    assert households(roster) == {h for h in households(full) if "stu-5" not in h[1]}
    assert len(households(roster)) == 2
    assert roster.refused == [] and roster.warnings == []
    assert roster.students["stu-3"].modified == datetime(2025, 9, 10, 8, tzinfo=UTC)
    assert roster.students["stu-2"].modified == datetime(2025, 9, 10, tzinfo=UTC)
    later = read_export(contents, since=datetime(2025, 9, 10, 9, tzinfo=timezone(timedelta(hours=1))))
    assert (later.unchanged, later.students, later.households) == (3 + 9, {}, [])


def test_a_delta_export_reports_deletions_and_does_not_warn_of_links_to_earlier_imports():
    users = [
        student("stu-2", "par-404"),
        {"sourcedId": "stu-9", "status": "tobedeleted", "role": "student"},
        {"sourcedId": "par-9", "status": "tobedeleted", "role": "parent"},
        {"sourcedId": "usr-9", "status": "tobedeleted"},  # no role said: looked up on both sides
        {"sourcedId": "tea-9", "status": "tobedeleted", "role": "teacher"},
    ]
    contents = files(users)
    contents["manifest.csv"] = manifest(users="delta", orgs="delta").encode()
    contents["orgs.csv"] = table(ORG_HEADER, [{"sourcedId": "sch-3", "status": "tobedeleted"}]).encode()
    del contents["enrollments.csv"]

    roster = read_export(zipped(contents))

    assert roster.mode == {"users.csv": "delta", "orgs.csv": "delta"}
    assert roster.deactivated_students == ["stu-9", "usr-9"]
    assert roster.deactivated_guardians == ["par-9", "usr-9"]
    assert roster.deactivated_schools == ["sch-3"]
    assert set(roster.students) == {"stu-2"} and roster.refused == []
    # Neither the link to a guardian of an earlier import nor the guardian missing from this file is a warning.
    assert roster.warnings == []


def test_an_unreadable_date_refuses_the_row():
    roster = read_export(files([student("stu-1", dateLastModified="yesterday")]))
    assert roster.refused == [RefusedRow("users.csv", 2, "dateLastModified “yesterday” is not a date.")]


# --- Households --------------------------------------------------------------------------------------------


def test_shared_custody_keeps_two_families_apart():
    # par-1 has stu-1 with par-2, and stu-2 with par-3: two households, par-1 in both.
    users = [
        student("stu-1", "par-1,par-2"),
        student("stu-2", "par-1,par-3", familyName="Ortiz"),
        guardian("par-1"),
        guardian("par-2"),
        guardian("par-3", familyName="Ortiz"),
    ]
    roster = read_export(files(users))

    assert len(roster.households) == 2
    assert family_of(roster, "stu-1") == ["par-1", "par-2"] and family_of(roster, "stu-2") == ["par-1", "par-3"]
    assert roster.shared_custody() == ["par-1"]
    assert len(roster.guardians["par-1"].household_keys) == 2
    assert len(roster.guardians["par-2"].household_keys) == 1


def test_a_student_sharing_only_one_of_two_guardians_is_another_household():
    users = [student("stu-1", "par-1,par-2"), student("stu-2", "par-1"), guardian("par-1"), guardian("par-2")]
    roster = read_export(files(users))
    assert sorted(len(h.guardian_ids) for h in roster.households) == [1, 2]
    assert roster.shared_custody() == ["par-1"]


def test_siblings_with_the_same_guardians_are_one_household():
    users = [student("stu-1", "par-1,par-2"), student("stu-2", "par-2,par-1"), guardian("par-1"), guardian("par-2")]
    roster = read_export(files(users))
    assert [(h.student_ids, h.guardian_ids) for h in roster.households] == [(["stu-1", "stu-2"], ["par-1", "par-2"])]
    assert roster.shared_custody() == []


@pytest.mark.parametrize("side", ["student", "guardian", "both"])
def test_links_are_read_from_either_side(side):
    from_student, from_guardian = side in ("student", "both"), side in ("guardian", "both")
    users = [
        student("stu-1", "par-1,par-2" if from_student else ""),
        student("stu-2", "par-1,par-2" if from_student else ""),
        guardian("par-1", "stu-1,stu-2" if from_guardian else ""),
        guardian("par-2", "stu-1, stu-2" if from_guardian else ""),
    ]
    roster = read_export(files(users))
    assert [(h.student_ids, h.guardian_ids) for h in roster.households] == [(["stu-1", "stu-2"], ["par-1", "par-2"])]
    assert roster.warnings == []


def test_people_with_no_one_to_link_to_are_warnings():
    roster = read_export(files([student("stu-1", familyName="Kim"), guardian("par-1"), student("stu-2", "par-404")]))
    assert [h.name for h in roster.households] in (["Kim family", "Garcia family"], ["Garcia family", "Kim family"])
    assert all(h.guardian_ids == [] for h in roster.households)
    assert roster.guardians["par-1"].household_keys == []
    reasons = {(w.line, w.reason) for w in roster.warnings}
    assert (4, "stu-2 is linked to par-404, who is not in the file.") in reasons
    assert (2, "The student has no guardian in the file: there is no one to invite.") in reasons
    assert (3, "The guardian is linked to no student: there is no household to invite them to.") in reasons


def test_household_keys_do_not_change_when_a_sibling_enrolls():
    before = read_export(files([student("stu-1", "par-1"), guardian("par-1")]))
    after = read_export(files([student("stu-1", "par-1"), student("stu-2", "par-1"), guardian("par-1")]))
    assert [h.key for h in before.households] == [h.key for h in after.households]


# --- Grades ------------------------------------------------------------------------------------------------

SPELLINGS = [
    ("IT", "it"), ("PR", "pr"), ("PK", "pk"), ("TK", "tk"), ("KG", "k"), ("KG", "Kindergarten"), ("KG", "0"),
    ("PS", "ps"), ("UG", "ug"), ("OT", "Other"), ("OT", "other"), ("PK", "-1"),
    *((f"{n:02d}", str(n)) for n in range(1, 14)), *((f"{n:02d}", f"{n:03d}") for n in range(1, 14)),
]  # fmt: skip


@pytest.mark.parametrize("code", GRADE_CODES)
def test_every_canonical_grade_code_reads_as_itself_in_any_case(code):
    assert normalize_grade(code) == code
    assert normalize_grade(f" {code.lower()} ") == code
    assert len(code) <= 4


@pytest.mark.parametrize(("code", "spelling"), SPELLINGS)
def test_grades_are_read_in_the_spellings_sis_write(code, spelling):
    assert normalize_grade(spelling) == code


@pytest.mark.parametrize("unreadable", ["", "14", "Grade 3", "K-1", "3rd", "½", "٣", "100"])
def test_a_grade_that_is_not_one_reads_as_none(unreadable):
    assert normalize_grade(unreadable) is None


@pytest.mark.parametrize(
    ("code", "label"),
    [("IT", "Infant/toddler"), ("PR", "Preschool"), ("PK", "Prekindergarten"), ("TK", "Transitional kindergarten"),
     ("KG", "Kindergarten"), ("01", "Grade 1"), ("1", "Grade 1"), ("12", "Grade 12"), ("13", "Grade 13"),
     ("PS", "Postsecondary"), ("UG", "Ungraded"), ("OT", "Other grade"), ("Other", "Other grade"), ("ZZ", "ZZ")],
)  # fmt: skip
def test_grades_have_labels_in_words(code, label):
    assert str(grade_label(code)) == label


def test_a_student_takes_the_first_readable_grade_and_is_kept_without_one_when_none_is():
    roster = read_export(
        files([student("stu-1", grades="x, 05,06"), student("stu-2", grades="Grade 3"), student("stu-3", grades="")])
    )
    assert [roster.students[s].grade for s in ("stu-1", "stu-2", "stu-3")] == ["05", "", ""]
    grade_warnings = [w for w in roster.warnings if "grade" in w.reason.lower()]
    assert grade_warnings == [
        RefusedRow("users.csv", 3, "Grade “Grade 3” is not a OneRoster grade: the student is kept without one.")
    ]


@given(st.text(max_size=20))
def test_normalize_grade_never_raises_and_gives_only_canonical_codes(raw):
    assert normalize_grade(raw) in (*GRADE_CODES, None)


# --- Refused rows ------------------------------------------------------------------------------------------


def test_refused_rows_are_reported_on_their_physical_line():
    text = table(USER_HEADER, [student("stu-1", "par-1", givenName="Ana\nMaria")])  # lines 1, 2-3
    text += "\n"  # a blank line 4
    text += table(USER_HEADER, [guardian("par-1", "stu-1", email="")]).split("\n", 1)[1]  # line 5

    roster = read_export({"users.csv": text.encode()})

    assert roster.students["stu-1"].given_name == "Ana Maria"
    assert roster.refused == [RefusedRow("users.csv", 5, "A guardian needs an email address to be invited.")]


NOT_AN_EMAIL = "A guardian needs an email address to be invited; “%s” is not one."


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (student(""), "The row has no sourcedId."),
        (student("stu-1"), "sourcedId stu-1 is on an earlier row too."),
        (student("s" * 41), "sourcedId is longer than 40 characters."),
        (student("stu-2", status="archived"), "Unknown status “archived”."),
        (student("stu-2", role="wizard"), "Unknown role “wizard”."),
        (student("stu-2", role=""), "No role."),
        (student("stu-2", givenName=" \x00 "), "A student needs a given name and a family name."),
        (student("stu-2", familyName=""), "A student needs a given name and a family name."),
        (student("stu-2", givenName="A" * 81), "givenName is longer than 80 characters."),
        (student("stu-2", familyName="B" * 81), "familyName is longer than 80 characters."),
        (guardian("par-2", email="maria at example.org"), NOT_AN_EMAIL % "maria at example.org"),
        (guardian("par-2", email="maria@example.test"), NOT_AN_EMAIL % "maria@example.test"),
        (guardian("par-2", email="a" * 250 + "@x.org"), "email is longer than 254 characters."),
        (guardian("par-2", givenName="M" * 100, familyName="G" * 30), "name is longer than 120 characters."),
        (guardian("par-2", phone="5" * 41), "phone is longer than 40 characters."),
    ],
)  # fmt: skip
def test_rows_that_cannot_be_used_are_refused_with_a_reason(row, reason):
    roster = read_export(files([student("stu-1"), row]))
    assert roster.refused == [RefusedRow("users.csv", 3, reason)]
    assert "stu-1" in roster.students


def test_control_characters_are_removed_from_what_is_kept():
    roster = read_export(
        files([student("stu-1", "par-1", givenName="Ana\x1b[2J\tMaria\x85"), guardian("par-1", phone="555\x000100")])
    )
    assert roster.students["stu-1"].given_name == "Ana [2J Maria"
    assert roster.guardians["par-1"].phone == "555 0100"


def test_an_address_of_another_alphabet_is_checked_by_email_validator():
    roster = read_export(
        files(
            [
                student("stu-1", "par-1,par-2"),
                guardian("par-1", email="José@Correo.example"),
                guardian("par-2", email="PAR-1@example.org"),
            ]
        )
    )
    assert roster.guardians["par-1"].email == "josé@correo.example"
    assert [w.reason for w in roster.warnings] == []
    roster = read_export(
        files([guardian("par-1", "stu-1"), guardian("par-2", "stu-1", email="par-1@EXAMPLE.org"), student("stu-1")])
    )
    assert [(w.line, w.reason) for w in roster.warnings] == [(3, "Guardian par-1 has the same email address.")]


def test_an_enrollment_in_a_school_not_in_orgs_is_a_warning():
    roster = read_export(
        files(
            [student("stu-1")], enrollments=[enrollment("e1", "stu-1", "sch-404"), enrollment("e2", "stu-404", "sch-1")]
        )
    )
    assert roster.students["stu-1"].school_sourced_id == "sch-1"
    assert [(w.file, w.line) for w in roster.warnings if "school" in w.reason] == [("enrollments.csv", 2)]


# --- Encodings, headers and columns ---------------------------------------------------------------------------


def test_a_byte_order_mark_crlf_and_spaced_headers_are_read():
    header = [f" {column.upper()} " for column in USER_HEADER]
    rows = [
        {f" {k.upper()} ": v for k, v in row.items()}
        for row in (student("stu-1", "par-1", givenName="Zoë"), guardian("par-1"))
    ]
    text = table(header, rows, newline="\r\n")
    roster = read_export({"users.csv": ("\ufeff" + text).encode()})
    assert roster.students["stu-1"].given_name == "Zoë" and roster.refused == []


def test_a_windows_1252_file_is_read():
    text = table(USER_HEADER, [student("stu-1", givenName="José", familyName="Núñez")], newline="\r\n")
    roster = read_export({"users.csv": text.encode("cp1252")})
    assert (roster.students["stu-1"].given_name, roster.students["stu-1"].family_name) == ("José", "Núñez")


def test_unknown_columns_are_ignored_and_columns_may_come_in_any_order():
    header = ["vendorField", *reversed(USER_HEADER), "x-extra"]
    users = [{**student("stu-1", "par-1"), "vendorField": "1", "x-extra": "?"}, guardian("par-1")]
    roster = read_export({"users.csv": table(header, users).encode()})
    assert family_of(roster, "stu-1") == ["par-1"] and roster.refused == []


@pytest.mark.parametrize(
    ("name", "header", "column"),
    [("users.csv", [c for c in USER_HEADER if c != "email"], "email"),
     ("users.csv", [c for c in USER_HEADER if c != "sourcedId"], "sourcedid"),
     ("orgs.csv", [c for c in ORG_HEADER if c != "type"], "type"),
     ("enrollments.csv", [c for c in ENROLLMENT_HEADER if c != "schoolSourcedId"], "schoolsourcedid")],
)  # fmt: skip
def test_a_file_without_a_column_it_needs_is_refused_naming_both(name, header, column):
    contents = files([student("stu-1")])
    contents[name] = (",".join(header) + "\n").encode()
    with pytest.raises(InvalidInput) as refused:
        read_export(contents)
    assert refused.value.field == "file"
    assert name in str(refused.value.message) and column in str(refused.value.message)


def test_a_file_with_more_rows_than_the_limit_is_refused(monkeypatch):
    monkeypatch.setitem(oneroster._FILES, "users.csv", (("sourcedid",), 2))
    with pytest.raises(InvalidInput) as refused:
        read_export(files([student("stu-1"), student("stu-2"), student("stu-3")]))
    assert "more than 2 rows" in str(refused.value.message)


# --- Damaged and hostile zips -------------------------------------------------------------------------------


def test_a_zip_without_a_file_its_manifest_lists_is_refused():
    contents = files([student("stu-1")])
    del contents["enrollments.csv"]
    with pytest.raises(InvalidInput) as refused:
        read_export(zipped(contents))
    assert refused.value.field == "file" and "enrollments.csv" in str(refused.value.message)


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(monkeypatch):
    data = bytearray(zipped(files([student("stu-1")])))
    entry = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 1)  # the second member's central directory entry
    data[entry + 24 : entry + 28] = struct.pack("<I", 0xFFFF_FFF0)  # declared uncompressed size: 4 GB
    monkeypatch.setattr(oneroster_files, "encoding", lambda opener: pytest.fail("a member was read"))
    with pytest.raises(InvalidInput) as refused:
        read_export(bytes(data))
    assert "larger than 200 MB" in str(refused.value.message)


def test_a_zip_of_too_many_files_is_refused():
    contents = {f"extra{n}.csv": b"a\n" for n in range(oneroster.MAX_MEMBERS)} | files([student("stu-1")])
    with pytest.raises(InvalidInput) as refused:
        read_export(zipped(contents))
    assert "more than 50 files" in str(refused.value.message)


def test_a_corrupted_zip_is_refused():
    data = zipped(files([student(f"stu-{n}", givenName=f"Name{n * 7919}") for n in range(200)]))
    start = data.index(b"users.csv") + 40
    damaged = data[:start] + bytes(b ^ 0x5A for b in data[start : start + 200]) + data[start + 200 :]
    for broken in (damaged, data[: len(data) // 2], b"PK\x03\x04" + b"\x00" * 100, b"users.csv is not a zip"):
        with pytest.raises(InvalidInput) as refused:
            read_export(broken)
        assert refused.value.field == "file"


# --- Properties ---------------------------------------------------------------------------------------------

SMALL_EXPORT = zipped(
    files([student("stu-1", "par-1"), guardian("par-1", "stu-1")], enrollments=[enrollment("e1", "stu-1", "sch-1")])
)
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_or_refuse(source):
    try:
        return read_export(source)
    except InvalidInput as error:
        assert error.field == "file"
        return None


@QUICK
@given(st.binary(max_size=600))
def test_any_bytes_are_read_or_refused(data):
    assert isinstance(read_or_refuse(data) or Roster(), Roster)


@QUICK
@given(st.lists(st.tuples(st.integers(0, len(SMALL_EXPORT) - 1), st.integers(0, 255)), min_size=1, max_size=6))
def test_a_damaged_export_is_read_or_refused(changes):
    data = bytearray(SMALL_EXPORT)
    for position, value in changes:
        data[position] = value
    assert isinstance(read_or_refuse(bytes(data)) or Roster(), Roster)


def test_an_export_whose_entries_lost_their_names_is_read_or_refused():
    """zipfile cuts a name at its first NUL: a damaged central directory can give a file no
    name at all (zipfile's is_dir() then raised IndexError: Hypothesis found it). Each
    entry's name starting with NUL, alone and all together."""
    headers = [index for index in range(len(SMALL_EXPORT)) if SMALL_EXPORT.startswith(b"PK\x01\x02", index)]
    assert headers
    for chosen in [[header] for header in headers] + [headers]:
        data = bytearray(SMALL_EXPORT)
        for header in chosen:
            data[header + 46] = 0  # the file name's first byte
        assert isinstance(read_or_refuse(bytes(data)) or Roster(), Roster)


@QUICK
@given(st.text(max_size=300), st.sampled_from(["utf-8", "cp1252", "utf-16"]))
def test_any_users_csv_is_read_or_refused(text, encoding):
    header = ",".join(USER_HEADER) + "\n"
    for data in ((header + text).encode(encoding, errors="replace"), text.encode(encoding, errors="replace")):
        roster = read_or_refuse({"users.csv": data})
        if roster is not None:
            assert all(row.line > 1 for row in roster.refused + roster.warnings)


@st.composite
def families(draw):
    """Students, guardians and links between them, each link given from one side or both, rows in any order."""
    students = [f"stu-{n}" for n in range(draw(st.integers(1, 7)))]
    guardians = [f"par-{n}" for n in range(draw(st.integers(0, 6)))]
    links = {}
    if guardians:
        pairs = st.tuples(st.sampled_from(students), st.sampled_from(guardians))
        links = draw(st.dictionaries(pairs, st.sampled_from(["student", "guardian", "both"]), max_size=12))
    agents: dict[str, list[str]] = {}
    for (s, g), side in links.items():
        if side != "guardian":
            agents.setdefault(s, []).append(g)
        if side != "student":
            agents.setdefault(g, []).append(s)
    rows = [student(s, ",".join(agents.get(s, []))) for s in students]
    rows += [guardian(g, ",".join(agents.get(g, []))) for g in guardians]
    return rows, {(s, g) for s, g in links}, draw(st.randoms(use_true_random=False))


@settings(max_examples=80, deadline=None)
@given(families())
def test_households_partition_students_and_follow_guardian_sets(family):
    rows, links, rng = family
    roster = read_export(files(rows))
    homes = [h.student_ids for h in roster.households]
    assert sorted(s for home in homes for s in home) == sorted(roster.students)  # every student exactly once
    for household in roster.households:
        for sid in household.student_ids:
            assert household.guardian_ids == sorted(g for s, g in links if s == sid)
        for gid in household.guardian_ids:
            assert household.key in roster.guardians[gid].household_keys
    for guardian_record in roster.guardians.values():
        listing = {h.key for h in roster.households if guardian_record.sourced_id in h.guardian_ids}
        assert set(guardian_record.household_keys) == listing
    assert households(read_export(files(rows))) == households(roster)  # read again: the same keys
    shuffled = rows[:]
    rng.shuffle(shuffled)
    assert households(read_export(files(shuffled))) == households(roster)  # in any row order


def test_the_fast_email_check_accepts_only_what_email_validator_accepts():
    from email_validator import validate_email

    for address in ("a.b@example.org", "o'brien+kids@mail.example.co.uk", "x_y%z@a-b.example.io", "UP@EXAMPLE.ORG"):
        assert (
            oneroster_files.email_address(address)
            == validate_email(address, check_deliverability=False).normalized.lower()
        )
    for address in ("a..b@example.org", ".a@example.org", "a@-x.org", "a@x.local", "a@x", "a@x.localhost", "a b@x.org"):
        assert oneroster_files.email_address(address) is None


@settings(max_examples=100, deadline=None)
@given(st.emails())
def test_every_address_the_fast_check_accepts_email_validator_accepts(address):
    from email_validator import EmailNotValidError, validate_email

    if oneroster_files.PLAIN_EMAIL.fullmatch(address.lower()) and len(address.partition("@")[0]) <= 64:
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError as error:
            pytest.fail(f"{address}: {error}")


def test_the_benchmark_export_reads_cleanly():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "oneroster_export.py"
    spec = importlib.util.spec_from_file_location("oneroster_export", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = module.oneroster_zip(300, seed=1)
    assert module.oneroster_zip(300, seed=3) == module.oneroster_zip(300, seed=3)

    roster = read_export(data)

    assert len(roster.students) == 300 and len(roster.schools) == 40 and roster.school_year == "2026"
    assert all(h.student_ids for h in roster.households)
    assert {r.reason for r in roster.refused} <= {"A guardian needs an email address to be invited."}
    assert roster.not_families == 15
