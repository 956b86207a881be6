"""All tables, imported here so that Base.metadata knows every one of them."""

from portal.models.audit import AuditEvent
from portal.models.calendar import BusinessHours, Closure
from portal.models.contact import Channel, ContactPreference, Topic, TopicSubscription
from portal.models.district import Department, DepartmentMember, Priority, ReplyTarget, School
from portal.models.household import GuardianRelationship, Guardianship, Household, Student
from portal.models.invitation import Invitation
from portal.models.notes import AccountNote, AccountNoteRevision, NoteCategory, StaffNote
from portal.models.notification import Notification, NotificationStatus
from portal.models.security import SecurityEvent
from portal.models.user import EmailChange, RecoveryCode, Role, User, UserSession

__all__ = [
    "AccountNote",
    "AccountNoteRevision",
    "AuditEvent",
    "BusinessHours",
    "Channel",
    "Closure",
    "ContactPreference",
    "Department",
    "DepartmentMember",
    "EmailChange",
    "GuardianRelationship",
    "Guardianship",
    "Household",
    "Invitation",
    "NoteCategory",
    "Notification",
    "NotificationStatus",
    "Priority",
    "RecoveryCode",
    "ReplyTarget",
    "Role",
    "School",
    "SecurityEvent",
    "StaffNote",
    "Student",
    "Topic",
    "TopicSubscription",
    "User",
    "UserSession",
]
