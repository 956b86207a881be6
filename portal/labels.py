"""What every enum value reads as, in the reader's language: one mapping per enum,
member -> lazy_gettext, used by the forms' choices and by templates through the
`label` filter (`{{ request.status|label }}`).

Where a page words the same value differently, the other wording is a mapping of
its own (FEEDBACK_KIND_CHOICES, ROLE_IN_SENTENCE), never a second text in a template.
Services decide the values and never import this module."""

from collections.abc import Mapping
from enum import StrEnum

from flask_babel import LazyString

from portal.catalogs import lazy_gettext as _l
from portal.models import (
    CallbackStatus,
    CallOutcome,
    Channel,
    FeedbackKind,
    FeedbackStatus,
    GuardianRelationship,
    ImportChange,
    ImportStatus,
    NoteCategory,
    Priority,
    RequestStatus,
    Role,
    SafetyCategory,
    Topic,
)
from portal.services.households.oneroster_grades import grade_label


class SentimentLabel(StrEnum):
    """How a piece of feedback reads: the words of portal.services.feedback.sentiment's
    `Sentiment.label` and `label_of`, as a value views can hand to templates."""

    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"
    UNSCORED = "unscored"


REQUEST_STATUS: Mapping[RequestStatus, LazyString] = {
    RequestStatus.OPEN: _l("Sent"),
    RequestStatus.IN_PROGRESS: _l("Being answered"),
    RequestStatus.WAITING_ON_FAMILY: _l("Waiting for the family"),
    RequestStatus.RESOLVED: _l("Resolved"),
    RequestStatus.CLOSED: _l("Closed"),
}

PRIORITY: Mapping[Priority, LazyString] = {
    Priority.LOW: _l("Low"),
    Priority.NORMAL: _l("Normal"),
    Priority.HIGH: _l("High"),
    Priority.URGENT: _l("Urgent"),
}

FEEDBACK_KIND: Mapping[FeedbackKind, LazyString] = {
    FeedbackKind.COMPLIMENT: _l("Compliment"),
    FeedbackKind.SUGGESTION: _l("Suggestion"),
    FeedbackKind.CONCERN: _l("Concern"),
    FeedbackKind.QUESTION: _l("Question"),
}

# The family's choice on the feedback form, in whole sentences.
FEEDBACK_KIND_CHOICES: Mapping[FeedbackKind, LazyString] = {
    FeedbackKind.COMPLIMENT: _l("A compliment: something that went well"),
    FeedbackKind.SUGGESTION: _l("A suggestion: an idea to do better"),
    FeedbackKind.CONCERN: _l("A concern: something that went wrong"),
    FeedbackKind.QUESTION: _l("A question"),
}

FEEDBACK_STATUS: Mapping[FeedbackStatus, LazyString] = {
    FeedbackStatus.NEW: _l("Received"),
    FeedbackStatus.IN_REVIEW: _l("Being reviewed"),
    FeedbackStatus.RESPONDED: _l("Answered"),
    FeedbackStatus.CLOSED: _l("Closed"),
}

SENTIMENT: Mapping[SentimentLabel, LazyString] = {
    SentimentLabel.POSITIVE: _l("Positive"),
    SentimentLabel.NEUTRAL: _l("Neutral"),
    SentimentLabel.NEGATIVE: _l("Negative"),
    SentimentLabel.UNSCORED: _l("Not scored (language not supported)"),
}

TOPIC: Mapping[Topic, LazyString] = {
    Topic.EMERGENCY: _l("Emergency and safety"),
    Topic.ATTENDANCE: _l("Attendance"),
    Topic.TRANSPORTATION: _l("Transportation"),
    Topic.SCHOOL_NEWS: _l("School news"),
    Topic.EVENTS: _l("Events"),
    Topic.MEALS_AND_FEES: _l("Meals and fees"),
    Topic.SURVEYS: _l("Surveys"),
}

CHANNEL: Mapping[Channel, LazyString] = {
    Channel.EMAIL: _l("Email"),
    Channel.SMS: _l("Text message"),
    Channel.VOICE: _l("Voice call"),
}

NOTE_CATEGORY: Mapping[NoteCategory, LazyString] = {
    NoteCategory.LANGUAGE: _l("Language and interpreter"),
    NoteCategory.PICKUP: _l("Pickup and custody"),
    NoteCategory.ACCESSIBILITY: _l("Accessibility"),
    NoteCategory.OTHER: _l("Other"),
}

GUARDIAN_RELATIONSHIP: Mapping[GuardianRelationship, LazyString] = {
    GuardianRelationship.MOTHER: _l("Mother"),
    GuardianRelationship.FATHER: _l("Father"),
    GuardianRelationship.PARENT: _l("Parent"),
    GuardianRelationship.GRANDMOTHER: _l("Grandmother"),
    GuardianRelationship.GRANDFATHER: _l("Grandfather"),
    GuardianRelationship.STEPMOTHER: _l("Stepmother"),
    GuardianRelationship.STEPFATHER: _l("Stepfather"),
    GuardianRelationship.AUNT: _l("Aunt"),
    GuardianRelationship.UNCLE: _l("Uncle"),
    GuardianRelationship.FOSTER_PARENT: _l("Foster parent"),
    GuardianRelationship.LEGAL_GUARDIAN: _l("Legal guardian"),
    GuardianRelationship.OTHER: _l("Other"),
}

ROLE: Mapping[Role, LazyString] = {
    Role.FAMILY: _l("Family"),
    Role.STAFF: _l("Staff"),
    Role.ADMIN: _l("Administrator"),
}

# Staff named in a sentence of a family's history: "Jordan Lee (staff)". Families are
# named without a role, so they have none here.
ROLE_IN_SENTENCE: Mapping[Role, LazyString] = {
    Role.STAFF: _l("staff"),
    Role.ADMIN: _l("administrator"),
}

SAFETY_CATEGORY: Mapping[SafetyCategory, LazyString] = {
    SafetyCategory.SELF_HARM: _l("self-harm"),
    SafetyCategory.SUICIDE: _l("suicide"),
    SafetyCategory.VIOLENCE: _l("threat of violence"),
    SafetyCategory.WEAPONS: _l("weapons"),
    SafetyCategory.ABUSE: _l("abuse"),
    SafetyCategory.BULLYING: _l("bullying"),
}

CALL_OUTCOME: Mapping[CallOutcome, LazyString] = {
    CallOutcome.REACHED: _l("reached"),
    CallOutcome.VOICEMAIL: _l("voicemail left"),
    CallOutcome.NO_ANSWER: _l("no answer"),
    CallOutcome.WRONG_NUMBER: _l("wrong number"),
}

CALLBACK_STATUS: Mapping[CallbackStatus, LazyString] = {
    CallbackStatus.OPEN: _l("We will call you"),
    CallbackStatus.REACHED: _l("We called you"),
    CallbackStatus.NEEDS_NEW_TIME: _l("We could not reach you"),
    CallbackStatus.WRONG_NUMBER: _l("The number was wrong"),
    CallbackStatus.CANCELLED: _l("You cancelled the call"),
}

# Monday is 0, as date.weekday() counts.
WEEKDAY: Mapping[int, LazyString] = {
    0: _l("Monday"),
    1: _l("Tuesday"),
    2: _l("Wednesday"),
    3: _l("Thursday"),
    4: _l("Friday"),
    5: _l("Saturday"),
    6: _l("Sunday"),
}

# A roster import as its page says where it stands.
IMPORT_STATUS: Mapping[ImportStatus, LazyString] = {
    ImportStatus.QUEUED: _l("Waiting to be read"),
    ImportStatus.PLANNING: _l("Being read"),
    ImportStatus.PLANNED: _l("Dry run ready for review"),
    ImportStatus.APPLY_QUEUED: _l("Approved, waiting to be written"),
    ImportStatus.APPLYING: _l("Being written"),
    ImportStatus.DONE: _l("Written"),
    ImportStatus.FAILED: _l("Failed"),
    ImportStatus.DISCARDED: _l("Discarded: nothing written"),
}

# A line of a roster import's dry run.
IMPORT_CHANGE: Mapping[ImportChange, LazyString] = {
    ImportChange.NEW: _l("New"),
    ImportChange.CHANGED: _l("Changed"),
    ImportChange.DEACTIVATED: _l("Deactivated"),
    ImportChange.REFUSED: _l("Refused"),
    ImportChange.WARNING: _l("Warning"),
}

# What a line of a roster import's dry run is about (ImportJobRow.record, a plain string):
# "" is a row of the export that was not used.
ROSTER_RECORD: Mapping[str, LazyString] = {
    "school": _l("School"),
    "household": _l("Household"),
    "student": _l("Student"),
    "guardian": _l("Guardian"),
    "": _l("Row of the export"),
}

# The mapping `label` reads for each enum.
LABELS: Mapping[type[StrEnum], Mapping] = {  # type: ignore[type-arg]
    RequestStatus: REQUEST_STATUS,
    Priority: PRIORITY,
    FeedbackKind: FEEDBACK_KIND,
    FeedbackStatus: FEEDBACK_STATUS,
    SentimentLabel: SENTIMENT,
    Topic: TOPIC,
    Channel: CHANNEL,
    NoteCategory: NOTE_CATEGORY,
    GuardianRelationship: GUARDIAN_RELATIONSHIP,
    Role: ROLE,
    SafetyCategory: SAFETY_CATEGORY,
    ImportStatus: IMPORT_STATUS,
    ImportChange: IMPORT_CHANGE,
    CallOutcome: CALL_OUTCOME,
    CallbackStatus: CALLBACK_STATUS,
}

# Other wordings a template asks for by name: `{{ person.role|label("in_sentence") }}`.
VARIANTS: Mapping[str, Mapping[type[StrEnum], Mapping]] = {  # type: ignore[type-arg]
    "in_sentence": {Role: ROLE_IN_SENTENCE},
}


def label(value: object, variant: str = "") -> LazyString | str:
    """What `value` reads as, chosen by its enum type (a plain string is not guessed
    at: "closed" is a request's status and a feedback's). A value without a label
    reads as its plain value, never an error."""
    mappings = VARIANTS.get(variant, {}) if variant else LABELS
    mapping = mappings.get(type(value))
    if mapping is not None and value in mapping:
        return mapping[value]  # type: ignore[no-any-return]
    return str(getattr(value, "value", value))


def grade(code: str) -> str:
    """The grade a student is in, in words ("Kindergarten", "Grade 3"), from any spelling
    the portal keeps or a SIS writes (K, KG, 3, 03, TK); an unknown one as it is."""
    return grade_label(code)


def weekday_names(weekdays: str) -> str:
    """A call-back window's weekdays ("01234") in words: "Monday, Tuesday, ..."."""
    return ", ".join(str(WEEKDAY[int(day)]) for day in weekdays if day.isdigit() and int(day) in WEEKDAY)
