"""A realistic OneRoster 1.1 bulk export of a district, for benchmarking the OneRoster reader.

oneroster_zip(students) makes the zip a SIS would export: manifest, 40 schools under one
district, a school year and its terms, homerooms and classes, students, their guardians
(1-3 students and 1-2 guardians per family, about 3% of the guardians in a second family
as well: shared custody), teachers, enrollments (two per student) and demographics.
Links are given from the student side, the guardian side or both, as SIS vendors do.
Grades are spread across the codes, some in the spellings SIS write (K, 1, 001). A few
rows are wrong on purpose (a guardian without email), as in every real export.

    .venv/bin/python bench/oneroster_export.py [path] [--students N] [--seed S] [--read]
"""

import argparse
import csv
import io
import random
import time
import tracemalloc
import zipfile
from pathlib import Path

SCHOOLS = 40
STUDENTS_PER_TEACHER = 20
SHARED_CUSTODY = 0.03
MODIFIED = "2025-08-15T12:00:00.000Z"
USER_COLUMNS = [
    *("sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds"),
    *("givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades"),
    "password",
]
ORG_COLUMNS = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]
SESSION_COLUMNS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "type",
    "startDate",
    "endDate",
    "parentSourcedId",
]
SESSION_COLUMNS.append("schoolYear")
SESSIONS = (
    ["ay-2026", "active", MODIFIED, "2025-2026", "schoolYear", "2025-08-20", "2026-06-12", "", "2026"],
    ["t1-2026", "active", MODIFIED, "Fall", "term", "2025-08-20", "2026-01-16", "ay-2026", "2026"],
    ["t2-2026", "active", MODIFIED, "Spring", "term", "2026-01-20", "2026-06-12", "ay-2026", "2026"],
)
CLASS_COLUMNS = [
    *("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType"),
    *("location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"),
]
ENROLLMENT_COLUMNS = [
    *("sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
    *("primary", "beginDate", "endDate"),
]
GRADES = ("PK", "KG", *(f"{n:02d}" for n in range(1, 13)))
SPELLINGS = {"KG": "K", "01": "1", "02": "002", "PK": "pk"}  # how some SIS write them
GIVEN = ("Ana", "Ben", "Chloe", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena", "Mateo", "Nia")
FAMILY = ("Garcia", "Smith", "Nguyen", "Okafor", "Kim", "Haddad", "Novak", "Silva", "Chen", "Patel", "Murphy", "Rossi")


def oneroster_zip(students: int, *, seed: int = 0) -> bytes:
    """The zip of a district with `students` students, the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    schools = [f"sch-{n:03d}" for n in range(SCHOOLS)]
    users: list[list[str]] = []
    enrollments: list[list[str]] = []
    demographics: list[list[str]] = []
    guardians: list[list[str]] = []  # rows, to add links from the guardian side
    made = 0
    while made < students:
        family_name = rng.choice(FAMILY)
        school = rng.choice(schools)
        kids = [f"stu-{made + n:07d}" for n in range(min(rng.choice((1, 1, 1, 2, 2, 3)), students - made))]
        made += len(kids)
        parents = [_guardian(rng, len(guardians) + n, family_name) for n in range(rng.choice((1, 2, 2, 2)))]
        earlier = guardians[rng.randrange(len(guardians))] if guardians else None
        guardians.extend(parents)
        if earlier is not None and rng.random() < SHARED_CUSTODY * 2:
            parents.append(earlier)  # a parent of an earlier family too: shared custody
        side = rng.random()  # links from the student side (60%), the guardian side (15%), or both
        for kid in kids:
            grade = rng.choice(GRADES)
            agents = ",".join(parent[0] for parent in parents) if side < 0.85 else ""
            users.append(_student(rng, kid, school, family_name, SPELLINGS.get(grade, grade), agents))
            demographics.append(
                [kid, "active", MODIFIED, f"20{rng.randint(8, 21):02d}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"]
            )
            homeroom, section = f"cls-{school}-{grade}", f"cls-{school}-{rng.randint(0, 9)}"
            for number, (klass, primary) in enumerate(((homeroom, "true"), (section, "false"))):
                enrollments.append([f"enr-{kid}-{number}", "active", MODIFIED, klass, school, kid, "student", primary])
        if side >= 0.6:
            for parent in parents:
                parent[15] = ",".join(filter(None, (*parent[15].split(","), *kids)))
    teachers = [_teacher(rng, n, rng.choice(schools)) for n in range(max(1, students // STUDENTS_PER_TEACHER))]
    enrollments += [
        [f"enr-{t[0]}", "active", MODIFIED, f"cls-{t[4]}-{n % 10}", t[4], t[0], "teacher", "true"]
        for n, t in enumerate(teachers)
    ]
    files = {
        "manifest.csv": [["propertyName", "value"], *_manifest()],
        "orgs.csv": [ORG_COLUMNS, ["dist-1", "active", MODIFIED, "Riverside Unified", "district", "RUSD", ""]]
        + [
            [school, "active", MODIFIED, f"School {n}", "school", f"S{n:03d}", "dist-1"]
            for n, school in enumerate(schools)
        ],
        "academicSessions.csv": [SESSION_COLUMNS, *SESSIONS],
        "classes.csv": [CLASS_COLUMNS, *_classes(schools)],
        "users.csv": [USER_COLUMNS, *users, *guardians, *teachers],
        "enrollments.csv": [ENROLLMENT_COLUMNS, *([*row, "2025-08-20", ""] for row in enrollments)],
        "demographics.csv": [["sourcedId", "status", "dateLastModified", "birthDate"], *demographics],
    }
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, rows in files.items():
            text = io.StringIO()
            csv.writer(text, lineterminator="\r\n").writerows(rows)
            member = zipfile.ZipInfo(name, date_time=(2025, 8, 15, 12, 0, 0))  # the same bytes for the same seed
            zipped.writestr(member, text.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    return archive.getvalue()


def _classes(schools: list[str]) -> list[list[str]]:
    """A homeroom per grade and ten sections per school."""
    homerooms = [(f"cls-{s}-{g}", f"Homeroom {g}", g, "homeroom", s) for s in schools for g in GRADES]
    sections = [(f"cls-{s}-{n}", f"Section {n}", "", "scheduled", s) for s in schools for n in range(10)]
    return [
        [sourced_id, "active", MODIFIED, title, grade, "", title, kind, "", school, "t1-2026,t2-2026", "", "", ""]
        for sourced_id, title, grade, kind, school in homerooms + sections
    ]


def _manifest() -> list[list[str]]:
    read = {"academicSessions", "classes", "demographics", "enrollments", "orgs", "users"}
    files = [*sorted(read), "categories", "classResources", "courseResources", "courses", "lineItems", "resources"]
    return [
        ["manifest.version", "1.0"],
        ["oneroster.version", "1.1"],
        *([f"file.{name}", "bulk" if name in read else "absent"] for name in files),
        ["source.systemName", "Bench SIS"],
        ["source.systemCode", "bench"],
    ]


def _student(rng: random.Random, sourced_id: str, school: str, family: str, grade: str, agents: str) -> list[str]:
    given = rng.choice(GIVEN)
    number = sourced_id.removeprefix("stu-")
    return [sourced_id, "active", MODIFIED, "true", school, "student", f"s{number}", "", given, family, "", number,
            f"s{number}@students.example.org", "", "", agents, grade, ""]  # fmt: skip


def _guardian(rng: random.Random, number: int, family: str) -> list[str]:
    given = rng.choice(GIVEN)
    role = rng.choice(("parent", "parent", "parent", "guardian", "relative"))
    email = "" if rng.random() < 0.005 else f"{given.lower()}.{family.lower()}.{number}@mail.example.org"
    phone = f"+1213{2_000_000 + number % 8_000_000:07d}"  # Los Angeles numbers that parse as valid
    return [f"par-{number:07d}", "active", MODIFIED, "true", "", role, "", "", given, family, "", "", email, phone,
            "", "", "", ""]  # fmt: skip


def _teacher(rng: random.Random, number: int, school: str) -> list[str]:
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    email = f"teacher{number}@district.example.org"
    head = [f"tea-{number:05d}", "active", MODIFIED, "true", school, "teacher", f"t{number}", "", given, family]
    return [*head, "", f"T{number}", email, "", "", "", "", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", default="oneroster-export.zip")
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--read", action="store_true", help="also time the portal's reader on it")
    options = parser.parse_args()
    data = oneroster_zip(options.students, seed=options.seed)
    Path(options.path).write_bytes(data)
    print(f"{options.path}: {options.students} students, {len(data) / 2**20:.1f} MB")
    if options.read:
        report_reading(data)


def report_reading(data: bytes) -> None:
    """Time the portal's reader on the export, then measure its peak memory in a second
    read (tracing allocations slows the reading, so the two are not measured together)."""
    from portal.services.households import oneroster

    started = time.perf_counter()
    roster = oneroster.read_export(data)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    oneroster.read_export(data)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"read_export: {seconds:.1f} s, peak {peak / 2**20:.0f} MB traced; {len(roster.students)} students, "
        f"{len(roster.guardians)} guardians, {len(roster.households)} households, "
        f"{len(roster.shared_custody())} in shared custody, {len(roster.refused)} rows refused"
    )


if __name__ == "__main__":
    main()
