"""All tables, imported here so that Base.metadata knows every one of them."""

from portal.models.audit import AuditEvent
from portal.models.calendar import BusinessHours, CalendarFeed, Closure
from portal.models.callback import CallAttempt, Callback, CallbackStatus, CallOutcome
from portal.models.contact import Channel, ContactPreference, Topic, TopicSubscription
from portal.models.district import Department, DepartmentMember, Priority, ReplyTarget, School
from portal.models.district_data import DistrictDataVersion
from portal.models.feedback import (
    Feedback,
    FeedbackComment,
    FeedbackKind,
    FeedbackSource,
    FeedbackStatus,
    FeedbackTag,
    Routing,
    RoutingRule,
)
from portal.models.household import GuardianRelationship, Guardianship, Household, Student
from portal.models.invitation import Invitation
from portal.models.metrics import ClockKind, ClockStop
from portal.models.notes import AccountNote, AccountNoteRevision, NoteCategory, StaffNote
from portal.models.notification import Notification, NotificationStatus, WeeklySummaryRun
from portal.models.request import (
    ACTIVE_STATUSES,
    CalendarImport,
    DistrictSetting,
    Request,
    RequestChannel,
    RequestMessage,
    RequestStatus,
    SatisfactionRating,
    reference_of,
)
from portal.models.roster_import import ImportChange, ImportJob, ImportJobRow, ImportStatus
from portal.models.safety import SafetyAlert, SafetyCategory, SafetyTeamMember, SafetyTerm
from portal.models.saved_reply import SavedReply
from portal.models.security import SecurityEvent
from portal.models.user import EmailChange, PasswordReset, RecoveryCode, Role, User, UserSession

__all__ = [
    "ACTIVE_STATUSES",
    "AccountNote",
    "AccountNoteRevision",
    "AuditEvent",
    "BusinessHours",
    "CalendarFeed",
    "CalendarImport",
    "CallAttempt",
    "CallOutcome",
    "Callback",
    "CallbackStatus",
    "Channel",
    "ClockKind",
    "ClockStop",
    "Closure",
    "ContactPreference",
    "Department",
    "DepartmentMember",
    "DistrictDataVersion",
    "DistrictSetting",
    "EmailChange",
    "Feedback",
    "FeedbackComment",
    "FeedbackKind",
    "FeedbackSource",
    "FeedbackStatus",
    "FeedbackTag",
    "GuardianRelationship",
    "Guardianship",
    "Household",
    "ImportChange",
    "ImportJob",
    "ImportJobRow",
    "ImportStatus",
    "Invitation",
    "NoteCategory",
    "Notification",
    "NotificationStatus",
    "PasswordReset",
    "Priority",
    "RecoveryCode",
    "ReplyTarget",
    "Request",
    "RequestChannel",
    "RequestMessage",
    "RequestStatus",
    "Role",
    "Routing",
    "RoutingRule",
    "SafetyAlert",
    "SafetyCategory",
    "SafetyTeamMember",
    "SafetyTerm",
    "SatisfactionRating",
    "SavedReply",
    "School",
    "SecurityEvent",
    "StaffNote",
    "Student",
    "Topic",
    "TopicSubscription",
    "User",
    "UserSession",
    "WeeklySummaryRun",
    "reference_of",
]
