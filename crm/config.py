"""Defaults only. Secrets and site values come from instance/config.py or CRM_* variables."""

import os

# Values that must never be accepted as a production secret key.
WEAK_SECRET_KEYS = {"dev", "secret", "changeme", "change-me", "development", "test"}
MIN_SECRET_KEY_LENGTH = 32

# Environment variables read at start; each maps CRM_<NAME> to the config key <NAME>.
ENV_KEYS = ("SECRET_KEY", "DATABASE_URL", "PUBLIC_BASE_URL", "REDIS_URL")
# Yes/no settings: CRM_<NAME>=0, false, no or off turns them off.
ENV_FLAGS = ("JOBS_IN_PROCESS", "HTTPS")
# Whole numbers: CRM_PROXY_HOPS=1 behind one reverse proxy.
ENV_INTS = ("PROXY_HOPS", "SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS")


class DefaultConfig:
    SECRET_KEY: str | None = None
    DATABASE_URL: str | None = None  # default: SQLite in the instance folder
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    BABEL_DEFAULT_LOCALE = "ja"
    BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"
    LANGUAGES = ("ja", "en")
    BOOTSTRAP_SERVE_LOCAL = True
    WTF_CSRF_TIME_LIMIT = None  # a desk form left open all day must still save
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 12 * 60 * 60
    # Served over HTTPS (directly or behind a proxy): Secure cookies and HSTS.
    HTTPS = False
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted;
    # 0 = none, so a forged X-Forwarded-For never changes the client address.
    PROXY_HOPS = 0
    # Sign-in sessions end after this much inactivity, and at the latest after this.
    SESSION_IDLE_MINUTES = 30
    SESSION_MAX_HOURS = 12
    # Sign-in throttling (crm.auth.throttling): failures within the window before an
    # account or an address waits, the first wait (doubled each further failure), cap.
    SIGN_IN_WINDOW_SECONDS = 15 * 60
    SIGN_IN_ACCOUNT_LIMIT = 5
    SIGN_IN_IP_LIMIT = 20
    SIGN_IN_BACKOFF_SECONDS = 30
    SIGN_IN_BACKOFF_MAX_SECONDS = 15 * 60
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    PAGE_SIZE = 50
    SQLITE_BUSY_TIMEOUT_MS = 5000
    # Folders searched for font files before the system's (IPAex, IPAmj, BIZ UD).
    FONT_DIRS: tuple[str, ...] = ()
    # Background print jobs (crm.jobs): the queue lives in instance/jobs.sqlite3
    # unless REDIS_URL is set. The web process runs a worker thread of its own
    # unless JOBS_IN_PROCESS is off (then run `flask --app crm jobs worker`).
    REDIS_URL: str | None = None
    JOBS_IN_PROCESS = True
    JOBS_IMMEDIATE = False  # tests: run each job at once, inside the request


def from_environment() -> dict:
    """The CRM_* variables that are set, as config keys."""
    values: dict = {
        key: os.environ[f"CRM_{key}"]
        for key in ENV_KEYS
        if os.environ.get(f"CRM_{key}")
    }
    for key in ENV_FLAGS:
        text = os.environ.get(f"CRM_{key}", "").strip().lower()
        if text:
            values[key] = text not in ("0", "false", "no", "off")
    for key in ENV_INTS:
        text = os.environ.get(f"CRM_{key}", "").strip()
        if text:
            values[key] = int(text)
    return values


def check_secret_key(secret_key: str | None) -> str | None:
    """A message saying why the key is unfit for production, or None when it is fine."""
    hint = (
        "Generate one with: python3 -c 'import secrets; print(secrets.token_hex(32))' "
        "and put it in CRM_SECRET_KEY or SECRET_KEY in instance/config.py."
    )
    if not secret_key:
        return "No secret key is set (CRM_SECRET_KEY). " + hint
    if (
        len(secret_key) < MIN_SECRET_KEY_LENGTH
        or secret_key.lower() in WEAK_SECRET_KEYS
    ):
        return (
            f"The secret key is too weak: use at least {MIN_SECRET_KEY_LENGTH} random "
            "characters. " + hint
        )
    return None
