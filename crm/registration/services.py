"""Public self-registration: the rules, as plain functions. Callers own the commit."""

import hashlib
import hmac
import os
import random
import secrets
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from crm.admin.services import get_settings
from crm.audit.services import record_event
from crm.database import upsert_insert
from crm.events.models import Event, EventDay
from crm.events.services import check_in
from crm.extensions import db
from crm.imports.duplicates import LIKELY, find_duplicates
from crm.japanese import email_key, kana_key, name_key, phone_key
from crm.registration.models import (
    EventRegistrationLink,
    RateLimitCounter,
    Registration,
)
from crm.supporters.merge import merge_supporters
from crm.supporters.models import Supporter
from crm.supporters.queries import find_by_public_token
from crm.supporters.services import SupporterData, register_supporter
from crm.supporters.tokens import looks_like_token, new_public_token
from crm.timeutil import today_jst, utcnow

# Per IP address and window. An event hall's guests mostly come through their
# phone carriers (many addresses, and carrier NAT shares one address among many
# strangers), a town hall's Wi-Fi through one: the limits leave room for a whole
# hall of forty behind one address, yet stop a script filling the database.
DEFAULT_LIMITS = {
    "REGISTRATION_RATE_LIMIT": 60,  # the general form, per window
    "EVENT_REGISTRATION_RATE_LIMIT": 200,  # an event's link (printed at the venue)
    "REGISTRATION_RATE_WINDOW": 600,  # seconds
}


def setting(name: str) -> int:
    """A limit from the app config, else CRM_<NAME> in the environment, else the default."""
    value = current_app.config.get(name) or os.environ.get(f"CRM_{name}")
    return int(value or DEFAULT_LIMITS[name])


# --- the rate limit, shared by every worker -------------------------------------


def client_key(ip_address: str | None) -> str:
    """A keyed hash of the address: counted per client, the address never stored."""
    secret = (current_app.config.get("SECRET_KEY") or "").encode()
    return hmac.new(secret, (ip_address or "").encode(), hashlib.sha256).hexdigest()


def _redis():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    try:
        import redis
    except ImportError:
        return None
    return redis.Redis.from_url(url)


def take_rate_slot(
    bucket: str, ip_address: str | None, limit: int, window: int
) -> bool:
    """Count one request of this client; false when the window's limit is used up.

    In Redis when REDIS_URL is set, else in the database (an INSERT … ON CONFLICT
    DO UPDATE, atomic on both SQLite and PostgreSQL), so every worker and every
    server behind the same database shares the count.
    """
    client = client_key(ip_address)
    window_start = int(time.time()) // window * window
    connection = _redis()
    if connection is not None:
        key = f"crm:rate:{bucket}:{client}:{window_start}"
        pipe = connection.pipeline()
        pipe.incr(key)
        pipe.expire(key, window * 2)
        count = pipe.execute()[0]
        return count <= limit
    statement = upsert_insert(RateLimitCounter).values(
        bucket=bucket, client=client, window_start=window_start, count=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=["bucket", "client", "window_start"],
        set_={"count": RateLimitCounter.count + 1},
    ).returning(RateLimitCounter.count)
    count = db.session.execute(statement).scalar_one()
    if random.random() < 0.02:  # now and then, forget windows long past  # noqa: S311
        db.session.execute(
            delete(RateLimitCounter).where(
                RateLimitCounter.window_start < window_start - window
            )
        )
    return count <= limit


# --- registering ------------------------------------------------------------------


def new_submission_key() -> str:
    """The random key of one filled-in form (a double click sends it twice)."""
    return secrets.token_urlsafe(24)


def identity_key(data: SupporterData) -> str:
    """The same person typing the same reading and contact twice gets the same key."""
    contact = (
        email_key(data.email)
        or phone_key(data.phone)
        or f"{name_key(data.family_name, data.given_name)}|{data.postal_code or ''}"
    )
    text = f"{kana_key(data.family_name_kana, data.given_name_kana)}|{contact}"
    secret = (current_app.config.get("SECRET_KEY") or "").encode()
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


class AlreadySubmitted(Exception):
    """This form, or this person, was registered a moment ago."""

    def __init__(self, registration: Registration | None):
        super().__init__("already submitted")
        self.registration = registration


@dataclass
class Outcome:
    registration: Registration
    supporter: Supporter
    checked_in: bool


def find_event_link(token: str) -> EventRegistrationLink | None:
    """The event of a current (not revoked) link; None for anything else."""
    if not looks_like_token(token):
        return None
    return db.session.scalar(
        select(EventRegistrationLink).where(
            EventRegistrationLink.token == token,
            EventRegistrationLink.revoked_at.is_(None),
        )
    )


def introducer_for(token: str | None) -> Supporter | None:
    """The active Liker whose public page carried this referral token."""
    found = find_by_public_token(token or "")
    return found if found is not None and found.status == "active" else None


def current_day(event: Event) -> EventDay | None:
    """The event's day that is today (JST), unless the event was cancelled."""
    if event.status == "cancelled":
        return None
    today = today_jst()
    return next((day for day in event.days if day.day == today), None)


def _by_submission_key(key: str) -> Registration | None:
    return db.session.scalar(
        select(Registration).where(Registration.submission_key == key)
    )


def register_publicly(
    data: SupporterData,
    submission_key: str,
    referral_token: str | None = None,
    link: EventRegistrationLink | None = None,
) -> Outcome:
    """A Liker registering themselves on the public form.

    Active at once, or "pending" in the review queue when the town's setting asks
    for review, and always when the person looks like a Liker already (staff then
    approve, merge or reject). Raises AlreadySubmitted for a second post of the
    same form or the same person's second registration: nothing is created twice.
    """
    earlier = _by_submission_key(submission_key)
    if earlier is not None:
        raise AlreadySubmitted(earlier)
    settings = get_settings()
    introducer = introducer_for(referral_token)
    likely = [m for m in find_duplicates([data])[0] if m.score >= LIKELY]
    held_for = (
        "duplicate" if likely else ("review" if settings.registration_review else None)
    )
    day = current_day(link.event) if link is not None else None
    try:
        with db.session.begin_nested():
            supporter = register_supporter(
                data, None, "web", status="pending" if held_for else "active"
            )
            supporter.introduced_by_id = introducer.id if introducer else None
            registration = Registration(
                supporter_id=supporter.id,
                submission_key=submission_key,
                identity_key=identity_key(data),
                submitted_at=utcnow(),
                event_id=link.event_id if link else None,
                event_day_id=day.id if day else None,
                held_for=held_for,
                outcome="pending" if held_for else "approved",
            )
            db.session.add(registration)
            db.session.flush()
    except IntegrityError:
        raise AlreadySubmitted(_by_submission_key(submission_key)) from None
    checked_in = False
    if day is not None and not held_for:
        check_in(day, supporter, "participant", "web")
        checked_in = True
    record_event(
        "self_register", "supporter", supporter.id,
        {"held_for": held_for, "event_id": registration.event_id,
         "introduced_by": supporter.introduced_by_id},
    )  # fmt: skip
    return Outcome(registration, supporter, checked_in)


# --- the review queue ---------------------------------------------------------------


class ReviewError(ValueError):
    """The registration was reviewed meanwhile (or cannot be merged that way)."""


def pending_registrations() -> list[Registration]:
    return list(
        db.session.scalars(
            select(Registration)
            .join(Supporter, Supporter.id == Registration.supporter_id)
            .where(Supporter.status == "pending")
            .order_by(Registration.submitted_at, Registration.id)
        )
    )


def _reviewed(registration: Registration, outcome: str, user) -> None:
    supporter = registration.supporter
    db.session.refresh(supporter, with_for_update=True)  # two staff at once
    if supporter.status != "pending":
        raise ReviewError("already reviewed")
    registration.outcome = outcome
    registration.reviewed_at = utcnow()
    registration.reviewed_by_id = user.id if user else None


def _check_in_later(registration: Registration, supporter: Supporter, user) -> bool:
    day = registration.event_day
    if day is None or day.event.status == "cancelled":
        return False
    check_in(day, supporter, "participant", "web", user)
    return True


def approve(registration: Registration, user=None) -> Supporter:
    """The pending Liker becomes active (and is checked in, if they came by an
    event's link that day)."""
    _reviewed(registration, "approved", user)
    supporter = registration.supporter
    supporter.status = "active"
    supporter.updated_by_id = user.id if user else None
    _check_in_later(registration, supporter, user)
    record_event("approve_registration", "supporter", supporter.id, user=user)
    return supporter


def reject(registration: Registration, user=None) -> Supporter:
    """Refused (spam, a prank): the record stays out of every list, count and export."""
    _reviewed(registration, "rejected", user)
    supporter = registration.supporter
    supporter.status = "rejected"
    supporter.updated_by_id = user.id if user else None
    record_event("reject_registration", "supporter", supporter.id, user=user)
    return supporter


def merge_registration(registration: Registration, existing: Supporter, user=None):
    """The person was a Liker already: their new details go into that record
    (where it has none, and the newer privacy consent), then the check-in."""
    if existing.status in ("pending", "rejected", "merged"):
        raise ReviewError("only an active or withdrawn Liker can be merged into")
    _reviewed(registration, "merged", user)
    survivor = merge_supporters(existing, registration.supporter, {}, user)
    _check_in_later(registration, survivor, user)
    return survivor


# --- event links ---------------------------------------------------------------------


def event_link(event: Event) -> EventRegistrationLink | None:
    return db.session.scalar(
        select(EventRegistrationLink).where(
            EventRegistrationLink.event_id == event.id,
            EventRegistrationLink.revoked_at.is_(None),
        )
    )


def new_event_link(event: Event, user=None) -> EventRegistrationLink:
    """A new link for the event; the previous one (and its posters) stop working."""
    now = utcnow()
    previous = event_link(event)
    if previous is not None:
        previous.revoked_at = now
    link = EventRegistrationLink(
        event_id=event.id, token=new_public_token(), created_at=now,
        created_by_id=user.id if user else None,
    )  # fmt: skip
    db.session.add(link)
    db.session.flush()
    record_event(
        "renew_registration_link" if previous else "create_registration_link",
        "event", event.id, user=user,
    )  # fmt: skip
    return link


def revoke_event_link(event: Event, user=None) -> bool:
    link = event_link(event)
    if link is None:
        return False
    link.revoked_at = utcnow()
    record_event("revoke_registration_link", "event", event.id, user=user)
    return True
