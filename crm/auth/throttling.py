"""Sign-in throttling stored in the database, so every worker process shares it.

Each account (by email, known or not) and each client address has a row of recent
failures. After SIGN_IN_ACCOUNT_LIMIT failures of an account (SIGN_IN_IP_LIMIT of an
address) within SIGN_IN_WINDOW_SECONDS, it waits SIGN_IN_BACKOFF_SECONDS, doubled with
every further failure up to SIGN_IN_BACKOFF_MAX_SECONDS. Attempts refused while
waiting are not counted as failures, so an attacker cannot keep the real user locked
out: once the wait is over, the right password gets in.

The rows are locked (SELECT … FOR UPDATE on PostgreSQL; SQLite's write lock, taken
at BEGIN IMMEDIATE for every POST) from the check until the commit, so two workers
cannot both pass the check on the same count.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from crm.auth.models import SignInThrottle
from crm.database import upsert_insert
from crm.extensions import db


@dataclass(frozen=True)
class Limits:
    window: timedelta
    account_limit: int
    ip_limit: int
    backoff: timedelta
    backoff_max: timedelta

    @classmethod
    def from_config(cls) -> "Limits":
        config = current_app.config
        return cls(
            window=timedelta(seconds=config["SIGN_IN_WINDOW_SECONDS"]),
            account_limit=config["SIGN_IN_ACCOUNT_LIMIT"],
            ip_limit=config["SIGN_IN_IP_LIMIT"],
            backoff=timedelta(seconds=config["SIGN_IN_BACKOFF_SECONDS"]),
            backoff_max=timedelta(seconds=config["SIGN_IN_BACKOFF_MAX_SECONDS"]),
        )


def account_key(email: str) -> str:
    """The account's key: a digest, so the table holds no email addresses."""
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
    return f"account:{digest}"


def ip_key(address: str | None) -> str:
    return f"ip:{(address or 'unknown')[:70]}"


def locked_row(key: str) -> SignInThrottle:
    """The key's row, created if missing, locked until the transaction ends."""
    db.session.execute(
        upsert_insert(SignInThrottle.__table__)
        .values(key=key, failures=0)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return db.session.scalars(
        select(SignInThrottle)
        .where(SignInThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def seconds_to_wait(row: SignInThrottle, now: datetime) -> int:
    if row.blocked_until is None or row.blocked_until <= now:
        return 0
    return max(1, int((row.blocked_until - now).total_seconds() + 0.999))


def record_failure(
    row: SignInThrottle, limit: int, limits: Limits, now: datetime
) -> None:
    if row.last_failure_at is None or now - row.last_failure_at > limits.window:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    if row.failures >= limit:
        wait = min(
            limits.backoff * 2 ** min(row.failures - limit, 30), limits.backoff_max
        )
        row.blocked_until = now + wait


def clear(row: SignInThrottle) -> None:
    row.failures = 0
    row.blocked_until = None
