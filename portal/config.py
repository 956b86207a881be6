"""Defaults. Overridden by instance/config.py, then by PORTAL_* environment variables."""

# Database: None means the embedded SQLite file instance/portal.sqlite3.
DATABASE_URL = None
# Connecting to PostgreSQL gives up after this long: while the database restarts,
# pages answer "we'll be right back" (503) promptly instead of hanging.
DATABASE_CONNECT_TIMEOUT_SECONDS = 5
# The Retry-After of that 503 page.
UNAVAILABLE_RETRY_AFTER_SECONDS = 30
# Redis backs rate limits shared across workers; None keeps them in memory.
REDIS_URL = None
# How long a call to Redis may take before it counts as down.
REDIS_TIMEOUT_SECONDS = 1
# Redis down: every rate limit goes on being enforced, counted in each process's
# memory (per process instead of across hosts) until Redis answers again; an error
# of the limit storage is logged, never a 500. See README, "When a dependency is down".
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
RATELIMIT_SWALLOW_ERRORS = True

# None means: generate one into instance/secret_key on first start and reuse it.
SECRET_KEY = None

# The portal's public address. Every link in an email is built from it, never
# from the request's Host header.
BASE_URL = "http://127.0.0.1:5000"

# The host names the portal answers to; other Host headers get 400. None: the
# host of BASE_URL (and the loopback names when that is a loopback address).
TRUSTED_HOSTS = None

DISTRICT_NAME = "Demo Unified School District"
DISTRICT_TIMEZONE = "America/Los_Angeles"
DISTRICT_COUNTRY = "US"

# The languages offered, code -> name in itself. None: English and every language with a
# compiled catalog in BABEL_TRANSLATION_DIRECTORIES (portal/translations; see README,
# "Adding a language"), so a new language needs its catalog and nothing else.
LANGUAGES = None
BABEL_DEFAULT_LOCALE = "en"

# Outgoing email. With no SMTP_HOST, messages are written to the log instead.
SMTP_HOST = None
SMTP_PORT = 587
SMTP_USERNAME = None
SMTP_PASSWORD = None
SMTP_STARTTLS = True
SMTP_SSL = False
SMTP_TIMEOUT_SECONDS = 20
MAIL_FROM = "Family Portal <no-reply@portal.invalid>"
NOTIFICATION_MAX_ATTEMPTS = 8
NOTIFICATION_RETRY_BASE_SECONDS = 60
NOTIFICATION_BATCH_SIZE = 50
NOTIFICATION_POLL_SECONDS = 5
# The worker (deliver-notifications --loop, escalate --loop) when the database or the
# mail server is down: it waits, doubling from the first wait up to the cap, and
# goes on when the dependency is back. Each outage is logged once, and its end.
WORKER_BACKOFF_FIRST_SECONDS = 1
WORKER_BACKOFF_MAX_SECONDS = 60

# The district's published calendar (.ics), read by the worker when an administrator
# subscribes: only from these hosts (comma-separated; none: no subscription), only
# https unless allowed here, every so many minutes.
CALENDAR_FEED_HOSTS = ""
CALENDAR_FEED_ALLOW_HTTP = False
CALENDAR_FEED_REFRESH_MINUTES = 360
CALENDAR_FEED_TIMEOUT_SECONDS = 20

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 1024
# Argon2id cost; the tests lower it.
PASSWORD_HASH_TIME_COST = 3
PASSWORD_HASH_MEMORY_KIB = 65536
PASSWORD_HASH_PARALLELISM = 2

INVITATION_VALID_DAYS = 21
PASSWORD_RESET_VALID_SECONDS = 3600

# Sign-in and activation-code attempts. Only failed attempts count.
SIGN_IN_LIMIT_PER_CLIENT = "30 per 10 minutes"
SIGN_IN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
ACTIVATION_LIMIT_PER_CLIENT = "10 per 10 minutes"
# Reset links per address: enough for a lost email, too few to flood an inbox.
RESET_LIMIT_PER_ACCOUNT = "5 per hour"
# No X-RateLimit-* headers (they tell a guesser how many tries are left) and no
# Retry-After on ordinary pages: the 429 page sets its own Retry-After.
RATELIMIT_HEADERS_ENABLED = False
# New requests per family account: plenty for a real family, a wall for a script.
NEW_REQUEST_LIMIT_PER_ACCOUNT = "30 per day"
# The public feedback form, per client address: a few a day is all a person sends.
PUBLIC_FEEDBACK_LIMIT_PER_CLIENT = "10 per hour"

# Server-side sessions: an idle and an absolute lifetime, shorter for staff.
FAMILY_SESSION_IDLE_MINUTES = 240
FAMILY_SESSION_MAX_HOURS = 24 * 14
STAFF_SESSION_IDLE_MINUTES = 30
STAFF_SESSION_MAX_HOURS = 12

# None: Secure cookies exactly when BASE_URL is https.
SESSION_COOKIE_SECURE = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

WTF_CSRF_TIME_LIMIT = None
MAX_CONTENT_LENGTH = 2 * 1024 * 1024
MAX_FORM_MEMORY_SIZE = 512 * 1024
# The OneRoster .zip an administrator uploads (the only larger request). A 100 000-student
# district's export (with its guardians, teachers, classes and enrollments) is about 6 MB
# zipped; the reader reads at most 500 000 users, about 230 000 students with their
# guardians, which is about 14 MB zipped.
ROSTER_UPLOAD_MAX_BYTES = 32 * 1024 * 1024

# A safety alert nobody acknowledged goes to the next person on the safety team after this.
SAFETY_RESEND_MINUTES = 15

PAGE_SIZE = 25

# How many proxies in front of the portal set X-Forwarded-For and -Proto.
PROXY_COUNT = 0

# The level of the log lines on standard error (see portal.configure_logging).
LOG_LEVEL = "WARNING"
