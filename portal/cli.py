"""Command-line tasks: flask --app portal <command>."""

import io
import logging
import signal
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import calendar_feed, mail, roster_jobs
from portal.db import close_session, get_engine, get_session, schema_change, utcnow
from portal.faults import DATABASE, Outages, unavailable_dependency
from portal.models import Channel, GuardianRelationship, ImportJob, ImportStatus, Topic
from portal.sample_data import demo
from portal.sample_data import scale as scale_data
from portal.services import accounts, csv_export, households, requests
from portal.services.accounts import passwords, two_factor
from portal.services.calendar import district_calendar
from portal.services.errors import DomainError
from portal.services.households import contacts, import_jobs
from portal.services.metrics import backfill as metrics_backfill_module
from portal.services.metrics import weekly
from portal.services.safety import alerts


def alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return config


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Bring the database to the newest schema."""
    config = alembic_config()
    with schema_change(get_engine()) as connection:
        config.attributes["connection"] = connection
        alembic_command.upgrade(config, "head")
    click.echo("The database is at the newest schema.")


@click.command("seed-demo")
@click.option("--password", default="demo-password", show_default=True, help="Password of every demo account.")
@click.option(
    "--totp-secret",
    default=demo.DEMO_TOTP_SECRET,
    show_default=True,
    help="Base32 secret of the demo staff and admin second factor.",
)
@click.option(
    "--scale",
    type=click.IntRange(min=0, max=5_000_000),
    default=0,
    help="Also generate this many requests, with proportionate households, guardians, students and feedback.",
)
@with_appcontext
def seed_demo(password: str, totp_secret: str, scale: int) -> None:
    """Load a demo district and print its sign-ins."""
    try:
        totp_secret = two_factor.check_secret(totp_secret)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--totp-secret") from error
    try:
        # The same rules as every other way a password is set: a demo left reachable is a way in.
        passwords.check_new_password(password)
    except DomainError as error:
        raise click.BadParameter(str(error.message), param_hint="--password") from error
    db = get_session()
    result = demo.seed_demo(
        db,
        password=password,
        now=utcnow(),
        totp_secret=totp_secret,
        time_zone=district_calendar.current_time_zone(db),
        secret_key=current_app.config["SECRET_KEY"],
    )
    db.commit()
    if not result.created:
        click.echo("Demo data was already loaded; nothing changed.")
    click.echo(f"Demo sign-ins (password: {password}):")
    for role, email in result.sign_ins:
        click.echo(f"  {role:<7} {email}")
    click.echo(f"Staff and admin second factor (TOTP) secret: {result.totp_secret}")
    click.echo(f"  current code: {two_factor.current_code(result.totp_secret)}")
    if scale:
        started = time.perf_counter()
        sizes = scale_data.generate(
            db,
            requests=scale,
            calendar=district_calendar.current(db),
            password_hash=passwords.hash_password(password),
            now=utcnow(),
        )
        db.commit()
        click.echo(
            f"Generated {sizes.requests} requests ({sizes.messages} messages), {sizes.households} households, "
            f"{sizes.guardians} guardians, {sizes.students} students and {sizes.feedback} feedback "
            f"in {time.perf_counter() - started:.1f} s. Generated guardians sign in as "
            f"family<household id>-0@{scale_data.EMAIL_DOMAIN} with the same password."
        )


def _parse_guardian(text: str) -> households.GuardianDetails:
    parts = [part.strip() for part in text.split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise click.BadParameter(f"{text!r} is not NAME:EMAIL[:RELATIONSHIP]", param_hint="--guardian")
    try:
        relationship = GuardianRelationship(parts[2].lower()) if len(parts) == 3 else GuardianRelationship.PARENT
    except ValueError as error:
        choices = ", ".join(member.value for member in GuardianRelationship)
        raise click.BadParameter(f"relationship must be one of {choices}", param_hint="--guardian") from error
    return households.GuardianDetails(display_name=parts[0], email=parts[1], relationship=relationship)


def _parse_student(text: str) -> households.StudentDetails:
    parts = [part.strip() for part in text.split(":")]
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise click.BadParameter(f"{text!r} is not FIRST:LAST[:GRADE]", param_hint="--student")
    return households.StudentDetails(first_name=parts[0], last_name=parts[1], grade=parts[2] if len(parts) == 3 else "")


@click.command("create-household")
@click.option("--name", required=True, help="The household's name, e.g. 'García family'.")
@click.option(
    "--guardian",
    "guardians",
    multiple=True,
    required=True,
    metavar="NAME:EMAIL[:RELATIONSHIP]",
    help="A guardian to invite; repeat for each.",
)
@click.option("--student", "students", multiple=True, metavar="FIRST:LAST[:GRADE]", help="A student; repeat for each.")
@click.option("--as", "actor_email", required=True, help="The email of the staff member doing this.")
@with_appcontext
def create_household(name: str, guardians: tuple[str, ...], students: tuple[str, ...], actor_email: str) -> None:
    """Create a household and email each guardian an invitation; print their activation codes."""
    db = get_session()
    actor = accounts.find_user_by_email(db, actor_email)
    if actor is None or not actor.is_staff:
        raise click.ClickException(f"{actor_email} is not a staff account.")
    try:
        created = households.create_household(
            db,
            actor,
            name,
            [_parse_guardian(g) for g in guardians],
            [_parse_student(s) for s in students],
            accounts.InvitationSettings.from_config(current_app.config),
            now=utcnow(),
        )
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    db.commit()
    click.echo(f"Household {created.household.id} created; invitations queued.")
    for details, issued in zip(guardians, created.invitations, strict=True):
        click.echo(f"  {_parse_guardian(details).email}: activation code {issued.code}")


@click.command("import-oneroster")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what the export would change; write nothing.")
@click.option("--no-invitations", is_flag=True, help="Do not invite the new guardians (invite them later).")
@with_appcontext
def import_oneroster(path: Path, dry_run: bool, no_invitations: bool) -> None:
    """Import a OneRoster 1.1/1.2 CSV export: the SIS's .zip, or a folder of its CSV files.

    The same job as the administrators' upload: read and compared first (the dry run),
    then written in batches, with progress. New guardians are invited by email: the
    invitations are queued, and `deliver-notifications` sends them."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db = get_session()
    try:
        job = import_jobs.queue(
            db,
            None,
            path.name,
            _zipped(path),
            max_bytes=int(app.config["ROSTER_UPLOAD_MAX_BYTES"]),
            invite_guardians=not no_invitations,
            now=utcnow(),
        )
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    db.commit()
    job = _run_roster_job(app, job.id)
    if job.status == ImportStatus.PLANNED:
        _echo_plan(db, job)
        if dry_run:
            import_jobs.discard_unreviewed(db, job.id, now=utcnow())
            db.commit()
            click.echo("Dry run: nothing was written.")
            return
        import_jobs.approve_from_command_line(db, job.id)
        db.commit()
        job = _run_roster_job(app, job.id)
    if job.status != ImportStatus.DONE:
        raise click.ClickException(f"The import failed: {job.error}")
    queued, _sent = import_jobs.invitations_sent(db, job.id)
    click.echo(f"Written. {queued} invitations queued; deliver-notifications sends them.")


def _zipped(path: Path) -> bytes:
    """The export as the .zip the upload takes: a folder's CSV files are zipped in memory."""
    if path.is_file():
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in sorted(path.glob("*.csv")):
            archive.write(member, member.name)
    return buffer.getvalue()


def _run_roster_job(app: Flask, job_id: int) -> ImportJob:
    def show(job: ImportJob) -> None:
        counted = f" {job.progress_done:,}/{job.progress_total:,}" if job.progress_total else ""
        click.echo(f"  {job.phase}{counted}", err=True)

    while True:
        job = roster_jobs.run_next(app, on_progress=show)
        if job is None or job.id != job_id:
            raise click.ClickException(
                f"A worker is running an import (this one, {job_id}, or an earlier one): "
                "follow it under Administration, where this one can be approved once read."
            )
        if job.status not in (ImportStatus.PLANNING, ImportStatus.APPLYING):
            return job


def _echo_plan(db: Session, job: ImportJob) -> None:
    click.echo(f"OneRoster {job.summary.get('version')}: what the export changes")
    for name, count in job.summary.get("planned", {}).items():
        click.echo(f"  {name.replace('_', ' ')}: {count:,}")
    for line in import_jobs.first_problems(db, job.id, limit=20):
        click.echo(f"  {line.change} {line.file}:{line.line} {line.label} {line.detail}".rstrip())


worker_log = logging.getLogger("portal.worker")


@click.command("deliver-notifications")
@click.option("--loop", is_flag=True, help="Keep delivering until stopped.")
@with_appcontext
def deliver_notifications(loop: bool) -> None:
    """Send the queued email, retrying failures with backoff. With --loop, also tell
    supervisors about replies that became overdue, as `escalate` does, read the
    district's published calendar when an administrator subscribed to it, and carry
    on through outages of the database and the mail server."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if loop:
        run_worker(notification_worker_steps(app), stop=_stop_on_sigterm())
        return
    report = mail.deliver_due(app, get_session(), mail.sender_for(app))
    click.echo(
        f"Sent {report.sent}, failed {report.retrying + report.given_up} "
        f"({report.retrying} will be retried, {report.given_up} given up)."
    )
    if report.unavailable is not None:
        raise click.ClickException(f"Stopped: {report.unavailable}. The rest stays queued.")


def notification_worker_steps(app: Flask) -> list[Callable[[], object]]:
    """One round of `deliver-notifications --loop`: send safety alerts nobody acknowledged
    to the next person, escalate, queue the Monday metrics summary when it is due, send
    what is due, read the district's published calendar when it is due, then take the
    next step of a roster import (a whole dry run or write: run a second worker to send meanwhile)."""
    sender = mail.sender_for(app)
    unrecorded: list[mail.UnrecordedSend] = []

    def deliver() -> None:
        report = mail.deliver_due(app, get_session(), sender, unrecorded)
        if report.unavailable is not None:
            raise report.unavailable

    return [
        _resend_safety_alerts,
        _escalate,
        _queue_weekly_summaries,
        deliver,
        lambda: calendar_feed.refresh(app),
        lambda: roster_jobs.run_next(app),
    ]


def run_worker(steps: Sequence[Callable[[], object]], *, stop: threading.Event) -> None:
    """Run `steps` in turn, every NOTIFICATION_POLL_SECONDS, until `stop` is set.

    An unavailable database or mail server does not end the loop: it waits, with the
    back-off of faults.Outages, and goes on when the dependency is back. Any other error
    is a bug and ends it (the process supervisor restarts the worker). Each round is its
    own unit of work, so nothing read before an outage is trusted after it.
    """
    config = current_app.config
    outages = Outages(
        worker_log,
        first_seconds=float(config["WORKER_BACKOFF_FIRST_SECONDS"]),
        max_seconds=float(config["WORKER_BACKOFF_MAX_SECONDS"]),
    )
    while not stop.is_set():
        try:
            for step in steps:
                step()
        except Exception as error:
            dependency = unavailable_dependency(error)
            if dependency is None:
                raise
            if dependency != DATABASE:
                outages.working(DATABASE)  # every step reads the database before anything else
            wait_seconds = outages.failed(dependency, error)
        else:
            outages.working()
            wait_seconds = float(config["NOTIFICATION_POLL_SECONDS"])
        finally:
            # Rolls back what a failure left open; a connection the server dropped is
            # discarded by the pool, and the next round checks out a live one (portal.db).
            close_session()
        stop.wait(wait_seconds)


def _stop_on_sigterm() -> threading.Event:
    """Stopped by SIGTERM between two messages, never in the middle of one.

    The handler sets the event from a thread of its own. Python runs a handler in the
    main thread between two of its steps, which may be inside `stop.wait`, holding the
    event's lock; setting the event there waited for that lock forever, and the worker
    never stopped."""
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda _signal, _frame: threading.Thread(target=stop.set).start())
    return stop


def _escalate() -> int:
    db = get_session()
    escalated = requests.escalate_overdue(db, now=utcnow())
    db.commit()
    return escalated


def _queue_weekly_summaries() -> int:
    db = get_session()
    try:
        queued = weekly.queue_weekly_summaries(db, now=utcnow())
        db.commit()
    except IntegrityError:  # another worker claimed this week's summary first
        db.rollback()
        return 0
    return queued


def _resend_safety_alerts() -> int:
    db = get_session()
    sent = alerts.resend_due(db, now=utcnow())
    db.commit()
    return sent


@click.command("escalate")
@click.option("--loop", is_flag=True, help="Keep escalating every poll interval until stopped.")
@with_appcontext
def escalate(loop: bool) -> None:
    """Tell department supervisors, once per clock, about replies that became overdue."""
    if loop:
        run_worker([_escalate], stop=_stop_on_sigterm())
        return
    click.echo(f"Escalated {_escalate()} overdue replies.")


@click.command("export-contacts")
@click.option("--topic", required=True, type=click.Choice([topic.value for topic in Topic]))
@click.option("--channel", required=True, type=click.Choice([channel.value for channel in Channel]))
@with_appcontext
def export_contacts(topic: str, channel: str) -> None:
    """Print as CSV who gets TOPIC on CHANNEL, honouring every preference, with quiet hours."""
    db = get_session()
    timezone = district_calendar.current_time_zone(db)
    rows = contacts.contact_list(db, Topic(topic), Channel(channel))
    click.echo(csv_export.write_csv(contacts.CONTACT_LIST_HEADER, (row.as_csv_row(timezone) for row in rows)), nl=False)


@click.command("metrics-backfill")
@click.option("--batch-size", type=click.IntRange(min=1, max=10_000), default=metrics_backfill_module.BATCH_SIZE)
@with_appcontext
def metrics_backfill(batch_size: int) -> None:
    """Build the metrics' facts of requests stored before there were facts (safe to run again)."""
    db = get_session()
    started = time.perf_counter()
    written = metrics_backfill_module.backfill(db, batch_size=batch_size, after_batch=db.commit)
    db.commit()
    click.echo(f"Wrote {written} metrics facts in {time.perf_counter() - started:.1f} s.")


COMMANDS = [
    init_db,
    seed_demo,
    create_household,
    import_oneroster,
    deliver_notifications,
    escalate,
    export_contacts,
    metrics_backfill,
]
