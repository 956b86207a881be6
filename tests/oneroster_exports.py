"""OneRoster exports built from small CSV texts, for the reader's and the import's tests."""

import csv
import io
import zipfile

USER_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
]
USER_HEADER_12 = [column for column in USER_HEADER if column not in ("role", "orgSourcedIds")] + [
    "userMasterIdentifier",
    "resourceSourcedIds",
    "preferredGivenName",
    "preferredMiddleName",
    "preferredFamilyName",
    "primaryOrgSourcedId",
    "pronouns",
]
ROLE_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "userSourcedId",
    "roleType",
    "role",
    "beginDate",
    "endDate",
    "orgSourcedId",
]
ORG_HEADER = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]
ENROLLMENT_HEADER = [
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
]
MODIFIED = "2025-08-01T00:00:00Z"
ORGS = [
    {"sourcedId": "dist-1", "name": "Riverside Unified", "type": "district"},
    {
        "sourcedId": "sch-1",
        "name": "Lincoln Elementary",
        "type": "school",
        "identifier": "LIN",
        "parentSourcedId": "dist-1",
    },
    {
        "sourcedId": "sch-2",
        "name": "Roosevelt Middle",
        "type": "school",
        "identifier": "ROO",
        "parentSourcedId": "dist-1",
    },
]


def table(header: list[str], rows: list[dict[str, str]], *, newline: str = "\n") -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, header, lineterminator=newline, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({"status": "active", "dateLastModified": MODIFIED, **row} for row in rows)
    return text.getvalue()


def student(sourced_id: str, guardians: str = "", **columns: str) -> dict[str, str]:
    fields = {"role": "student", "givenName": "Ana", "familyName": "Garcia", "grades": "03", "orgSourcedIds": "sch-1"}
    return {"sourcedId": sourced_id, **fields, "agentSourcedIds": guardians, **columns}


def guardian(sourced_id: str, students: str = "", role: str = "parent", **columns: str) -> dict[str, str]:
    fields = {"givenName": "Maria", "familyName": "Garcia", "email": f"{sourced_id.upper()}@Example.org"}
    return {"sourcedId": sourced_id, "role": role, **fields, "agentSourcedIds": students, **columns}


def enrollment(
    sourced_id: str, user: str, school: str, *, primary: str = "false", role: str = "student"
) -> dict[str, str]:
    row = {"sourcedId": sourced_id, "classSourcedId": f"cls-{school}", "schoolSourcedId": school}
    return {**row, "userSourcedId": user, "role": role, "primary": primary}


def manifest(version: str = "1.1", **modes: str) -> str:
    rows = [("manifest.version", "1.0"), ("oneroster.version", version)]
    rows += [(f"file.{name}", mode) for name, mode in modes.items()]
    return "propertyName,value\n" + "".join(f"{name},{value}\n" for name, value in rows)


def files(
    users: list[dict[str, str]], *, enrollments: tuple[dict[str, str], ...] | list = (), **extra: str
) -> dict[str, bytes]:
    """A 1.1 bulk export: manifest, orgs, users and enrollments, and any other file given."""
    contents = {
        "manifest.csv": manifest(orgs="bulk", users="bulk", enrollments="bulk", courses="absent"),
        "orgs.csv": table(ORG_HEADER, ORGS),
        "users.csv": table(USER_HEADER, users),
        "enrollments.csv": table(ENROLLMENT_HEADER, list(enrollments)),
        **{name.replace("_", "."): text for name, text in extra.items()},
    }
    return {name: text.encode() for name, text in contents.items()}


def zipped(contents: dict[str, bytes]) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped_file:
        for name, data in contents.items():
            zipped_file.writestr(name, data)
    return archive.getvalue()
