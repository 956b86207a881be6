"""Households: the families the portal serves, and what it keeps about them.

- `directory`: households, their guardians (joined through invitations) and students;
  finding and searching them.
- `contacts`: contact preferences. `phones`: E.164 numbers.
- `notes`: account notes with revisions, and staff's internal notes.
- `sis_import`: households from the student information system's CSV export.
- `data_download`: everything held about a household, as the family or staff download it.
- `access_log`: who looked at a household.
- `search_text`: the names a household is searched by, kept on it as they change.

Blueprints call the directory's names below as `households.household_for_staff(...)`
and import the other modules by name (`from portal.services.households import notes`).
"""

from portal.services.households import access_log, contacts, data_download, notes, phones, search_text, sis_import
from portal.services.households.directory import (
    GRADES,
    GuardianDetails,
    InvitationSettings,  # accounts': what create_household and add_guardian take
    StudentDetails,
    add_guardian,
    add_student,
    create_household,
    home_households,
    household_for_staff,
    household_names_for_family,
    household_to_show,
    households_for_family,
    list_schools,
    reinvite_guardian,
    school_choices,
    search_households,
    searchable,
    student_for_family,
    students_to_ask_about,
)

__all__ = [
    "GRADES",
    "GuardianDetails",
    "InvitationSettings",
    "StudentDetails",
    "access_log",
    "add_guardian",
    "add_student",
    "contacts",
    "create_household",
    "data_download",
    "home_households",
    "household_for_staff",
    "household_names_for_family",
    "household_to_show",
    "households_for_family",
    "list_schools",
    "notes",
    "phones",
    "reinvite_guardian",
    "school_choices",
    "search_households",
    "search_text",
    "searchable",
    "sis_import",
    "student_for_family",
    "students_to_ask_about",
]
