"""A demo district: schools, departments, staff, and three households."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    Closure,
    Department,
    DepartmentMember,
    DistrictSetting,
    GuardianRelationship,
    Guardianship,
    Household,
    RequestStatus,
    Role,
    RoutingRule,
    SavedReply,
    School,
    Student,
    User,
)
from portal.services import accounts, feedback, requests
from portal.services.accounts import passwords
from portal.services.calendar import district_calendar
from portal.services.households import contacts
from portal.services.requests.business_time import Calendar

FAMILY_EMAIL = "parent@example.org"
SPANISH_FAMILY_EMAIL = "familia@example.org"
STAFF_EMAIL = "staff@example.org"
ADMIN_EMAIL = "admin@example.org"

# Name, code and the name in Spanish.
SCHOOLS = [
    ("Lincoln Elementary School", "LES", "Escuela Primaria Lincoln"),
    ("Roosevelt Middle School", "RMS", "Escuela Secundaria Roosevelt"),
    ("Jefferson High School", "JHS", "Preparatoria Jefferson"),
]

# Name and description, in English and in Spanish.
DEPARTMENTS = [
    (
        "Transportation",
        "Bus routes, stops, pick-up times and late buses.",
        "Transporte",
        "Rutas y paradas de autobús, horarios de recogida y autobuses que llegan tarde.",
    ),
    (
        "Enrollment",
        "Registering a student, changing schools, proof of address.",
        "Inscripciones",
        "Inscribir a un estudiante, cambiar de escuela, comprobante de domicilio.",
    ),
    (
        "Attendance",
        "Absences, late arrivals and early pick-ups.",
        "Asistencia",
        "Ausencias, llegadas tarde y salidas temprano.",
    ),
    (
        "Nutrition Services",
        "School meals, menus, allergies and meal accounts.",
        "Servicios de Nutrición",
        "Comidas escolares, menús, alergias y cuentas de comidas.",
    ),
    (
        "Special Education",
        "Individualized education programs (IEPs) and support services.",
        "Educación Especial",
        "Programas de educación individualizados (IEP) y servicios de apoyo.",
    ),
    (
        "Technology Help",
        "Student devices, portal accounts and passwords.",
        "Ayuda con la Tecnología",
        "Dispositivos de los estudiantes, cuentas del portal y contraseñas.",
    ),
]
# Departments whose reply times are on the public "How we are doing" page.
PUBLISHED = ("Transportation", "Enrollment")
# Saved replies: department, title, English, Spanish.
SAVED_REPLIES = [
    (
        "Transportation",
        "Bus stop change",
        "A new bus stop takes two school days to set up. Until then, please use the current stop; "
        "we will write to you when the new one starts.",
        "Una parada de autobús nueva tarda dos días escolares en prepararse. Mientras tanto, use la "
        "parada actual; le escribiremos cuando empiece la nueva.",
    ),
    (
        "Transportation",
        "Late bus",
        "We are sorry the bus was late. We have told the route's driver and supervisor, and we are "
        "watching the route's times this week.",
        "Lamentamos que el autobús llegara tarde. Avisamos al conductor y al supervisor de la ruta, y "
        "esta semana revisamos los horarios de la ruta.",
    ),
    (
        None,
        "Proof of address",
        "A utility bill, a lease or a bank statement from the last 60 days, with your name and "
        "address, is accepted as proof of address.",
        "Se acepta como comprobante de domicilio una factura de servicios, un contrato de alquiler o "
        "un estado de cuenta bancario de los últimos 60 días, con su nombre y dirección.",
    ),
]


@dataclass
class DemoResult:
    created: bool
    totp_secret: str
    sign_ins: list[tuple[str, str]] = field(default_factory=list)


def _user(
    db: Session,
    email: str,
    name: str,
    role: Role,
    password_hash: str | None,
    now: datetime,
    language: str = "en",
    phone: str | None = None,
) -> User:
    user = User(
        email=email,
        display_name=name,
        role=role,
        password_hash=password_hash,
        language=language,
        phone=phone,
        created_at=now,
        activated_at=now if password_hash else None,
    )
    db.add(user)
    return user


def _household(
    db: Session,
    name: str,
    guardians: list[tuple[User, GuardianRelationship]],
    students: list[tuple[str, str, School, str]],
    now: datetime,
) -> Household:
    household = Household(name=name, created_at=now)
    db.add(household)
    db.flush()
    for user, relationship in guardians:
        db.flush()
        db.add(
            Guardianship(
                household_id=household.id, user_id=user.id, relationship_to_students=relationship, created_at=now
            )
        )
    for first, last, school, grade in students:
        db.add(Student(household_id=household.id, first_name=first, last_name=last, school_id=school.id, grade=grade))
    return household


# The demo's staff and admin second factor, public like the demo password: add it
# to any authenticator app (seed-demo also prints the current code).
DEMO_TOTP_SECRET = "FAMILYPORTALDEMOFAMILYPORTALDEMO"  # noqa: S105


def _students(db: Session, household: Household) -> list[Student]:
    return list(db.scalars(select(Student).where(Student.household_id == household.id).order_by(Student.id)))


def _demo_requests(
    db: Session,
    calendar: Calendar,
    by_name: dict[str, Department],
    *,
    family: tuple[User, list[Student], User, list[Student]],
    staff: tuple[User, User],
    now: datetime,
    secret_key: str,
) -> None:
    """Requests in every state, made through the same rules as real ones, so their clocks are real."""
    alex, rivera_students, maria, garcia_students = family
    jordan, lucia = staff
    sofia, mateo, _isabella = rivera_students

    def ask(guardian: User, department: str, subject: str, body: str, student: Student | None, ago: timedelta):
        request, _new = requests.submit_request(
            db,
            guardian,
            requests.NewRequest(by_name[department].id, subject, body, student.id if student else None),
            calendar=calendar,
            now=now - ago,
        )
        return request

    bus = ask(
        alex,
        "Transportation",
        "Bus stop change for Sofia",
        "We moved to Oak Street. Can Sofia take the bus from the stop at Oak and 5th from next week?",
        sofia,
        timedelta(days=2),
    )
    requests.assign(db, jordan, bus, jordan.id, now=now - timedelta(days=2))
    requests.reply_as_staff(
        db,
        jordan,
        bus,
        "Thank you. The Oak and 5th stop is on route 12. Which days will Sofia ride in the afternoon?",
        internal=False,
        calendar=calendar,
        now=now - timedelta(days=1, hours=20),
    )
    requests.reply_as_staff(
        db, jordan, bus, "Route 12 has room. Check the afternoon list.", internal=True, calendar=calendar, now=now
    )
    requests.reply_as_family(
        db, alex, bus, "Monday to Thursday. On Fridays her grandfather picks her up.", calendar=calendar, now=now
    )
    ask(
        alex,
        "Enrollment",
        "Proof of address for Mateo",
        "Which documents do you accept as proof of our new address?",
        mateo,
        timedelta(hours=3),
    )
    ask(
        alex,
        "Special Education",
        "Date of Sofia's IEP meeting",
        "Can we move the IEP meeting to a morning? I work afternoons.",
        sofia,
        timedelta(hours=5),
    )
    ask(
        maria,
        "Transportation",
        "¿A qué hora pasa el autobús?",
        "¿A qué hora pasa el autobús por la escuela Lincoln en la tarde?",
        garcia_students[0],
        timedelta(days=4),
    )
    laptop = ask(
        alex,
        "Technology Help",
        "Mateo's laptop does not charge",
        "The charger light stays off. Can we swap it?",
        mateo,
        timedelta(days=6),
    )
    requests.reply_as_staff(
        db,
        lucia,
        laptop,
        "Bring the charger to the Roosevelt front office; they keep spares.",
        internal=False,
        calendar=calendar,
        now=now - timedelta(days=5),
    )
    requests.change_status(
        db,
        lucia,
        laptop,
        RequestStatus.RESOLVED,
        calendar=calendar,
        now=now - timedelta(days=5),
        secret_key=secret_key,
    )


ROUTING_RULES = [
    ("Transportation", "bus, bus stop, driver, route, pick-up, late bus, autobús, parada, chofer, ruta"),
    ("Nutrition Services", "lunch, breakfast, meal, menu, cafeteria, allergy, comida, almuerzo, desayuno, alergia"),
    ("Enrollment", "enroll, enrollment, register, registration, transfer, inscripción, inscribir, matrícula"),
    ("Attendance", "absent, absence, tardy, late arrival, attendance, ausencia, falta, asistencia"),
    ("Technology Help", "laptop, chromebook, password, login, wifi, portal, computadora, contraseña"),
    ("Special Education", "iep, 504, special education, therapy, educación especial, terapia"),
]


def _demo_feedback(
    db: Session, alex: User, maria: User, schools: list[School], by_name: dict[str, Department], now: datetime
) -> None:
    """Feedback of every kind, routed the way real feedback is."""
    lincoln, roosevelt, _jefferson = schools
    for department, keywords in ROUTING_RULES:
        db.add(RoutingRule(department_id=by_name[department].id, keywords=keywords, created_at=now))
    # Enrollment's staff, the families' first contact, sort what no rule routes.
    db.add(DistrictSetting(time_zone=None, triage_department_id=by_name["Enrollment"].id, updated_at=now))
    db.flush()
    sent = [
        (
            alex,
            feedback.NewFeedback(
                "compliment",
                by_name["Transportation"].id,
                lincoln.id,
                5,
                "Ms. Okafor, the driver of route 12, waits until Sofia is inside. Thank you!",
                may_contact=False,
            ),
        ),
        (
            alex,
            feedback.NewFeedback(
                "concern",
                None,
                roosevelt.id,
                2,
                "The cafeteria ran out of lunch again before the last class came in. Mateo was hungry all afternoon.",
                may_contact=True,
            ),
        ),
        (
            maria,
            feedback.NewFeedback(
                "suggestion",
                None,
                lincoln.id,
                None,
                "Sería bueno recibir los avisos de la escuela también por mensaje de texto en español.",
                may_contact=True,
                language="es",
            ),
        ),
        (
            alex,
            feedback.NewFeedback(
                "question", None, None, None, "Is there a parent group that helps new families?", anonymous=True
            ),
        ),
    ]
    for days, (guardian, new) in enumerate(sent):
        feedback.submit_from_family(db, guardian, new, now=now - timedelta(days=len(sent) - days))
    feedback.submit_public(
        db,
        feedback.NewFeedback(
            "concern",
            None,
            None,
            1,
            "Cars park on the crosswalk at Lincoln every morning at drop-off.",
            contact_email="neighbor@example.org",
        ),
        now=now - timedelta(hours=6),
    )


def seed_demo(
    db: Session,
    *,
    password: str,
    now: datetime,
    totp_secret: str = DEMO_TOTP_SECRET,
    time_zone: str = "America/Los_Angeles",
    secret_key: str = "",
) -> DemoResult:
    """Load the demo district once; a second run changes nothing."""
    sign_ins = [
        ("family", FAMILY_EMAIL),
        ("family", SPANISH_FAMILY_EMAIL),
        ("staff", STAFF_EMAIL),
        ("admin", ADMIN_EMAIL),
    ]
    admin = accounts.find_user_by_email(db, ADMIN_EMAIL)
    if admin is not None:
        return DemoResult(created=False, totp_secret=admin.totp_secret or "", sign_ins=sign_ins)
    password_hash = passwords.hash_password(password)
    schools = [School(name=name, code=code, translations={"es": {"name": es}}) for name, code, es in SCHOOLS]
    db.add_all(schools)
    db.add_all(
        Department(
            name=name,
            description=text,
            translations={"es": {"name": name_es, "description": text_es}},
            metrics_public=name in PUBLISHED,
        )
        for name, text, name_es, text_es in DEPARTMENTS
    )
    lincoln, roosevelt, jefferson = schools
    staff = [
        _user(db, ADMIN_EMAIL, "Pat Morgan", Role.ADMIN, password_hash, now),
        _user(db, STAFF_EMAIL, "Jordan Lee", Role.STAFF, password_hash, now),
        _user(db, "staff.es@example.org", "Lucía Torres", Role.STAFF, password_hash, now, language="es"),
    ]
    for member in staff:
        member.totp_secret = totp_secret
        member.totp_enabled_at = now
    db.flush()
    by_name = {department.name: department for department in db.scalars(select(Department))}
    _admin, jordan, lucia = staff
    for user, name, supervises in (
        (jordan, "Transportation", True),
        (jordan, "Enrollment", False),
        (lucia, "Special Education", True),
        (lucia, "Attendance", False),
        (lucia, "Technology Help", False),
    ):
        db.add(DepartmentMember(department_id=by_name[name].id, user_id=user.id, is_supervisor=supervises))

    rivera_mother = _user(db, FAMILY_EMAIL, "Alex Rivera", Role.FAMILY, password_hash, now, phone="+12135550143")
    rivera_grandfather = _user(
        db, "grandpa.rivera@example.org", "Manuel Rivera", Role.FAMILY, password_hash, now, phone="+12135550188"
    )
    rivera = _household(
        db,
        "Rivera family",
        [(rivera_mother, GuardianRelationship.MOTHER), (rivera_grandfather, GuardianRelationship.GRANDFATHER)],
        [
            ("Sofia", "Rivera", lincoln, "2"),
            ("Mateo", "Rivera", roosevelt, "7"),
            ("Isabella", "Rivera", jefferson, "11"),
        ],
        now,
    )

    garcia = _user(
        db, SPANISH_FAMILY_EMAIL, "María García", Role.FAMILY, password_hash, now, language="es", phone="+13235550112"
    )
    garcia_household = _household(
        db, "García family", [(garcia, GuardianRelationship.MOTHER)], [("Diego", "García", lincoln, "K")], now
    )

    nguyen = _user(db, "linh.nguyen@example.org", "Linh Nguyen", Role.FAMILY, None, now)
    _household(db, "Nguyen family", [(nguyen, GuardianRelationship.FATHER)], [("An", "Nguyen", roosevelt, "6")], now)
    db.flush()
    district_calendar.seed_default_hours(db)
    db.add(Closure(first_day=date(2026, 12, 21), last_day=date(2027, 1, 1), name="Winter break", created_at=now))
    for guardian in (rivera_mother, rivera_grandfather, garcia, nguyen):
        contacts.start_preferences(db, guardian, mobile_phone=guardian.phone)
    db.flush()
    _demo_requests(
        db,
        district_calendar.load_calendar(db, time_zone),
        by_name,
        family=(rivera_mother, _students(db, rivera), garcia, _students(db, garcia_household)),
        staff=(jordan, lucia),
        now=now,
        secret_key=secret_key or totp_secret,
    )
    _demo_feedback(db, rivera_mother, garcia, schools, by_name, now)
    db.add_all(
        SavedReply(
            department_id=by_name[department].id if department else None,
            title=title,
            body=english,
            translations={"es": {"body": spanish}},
            updated_at=now,
        )
        for department, title, english, spanish in SAVED_REPLIES
    )
    return DemoResult(created=True, totp_secret=totp_secret, sign_ins=sign_ins)
