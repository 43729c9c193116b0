"""`flask --app crm housekeeping`: what is kept only for a while goes, nothing else."""

from datetime import timedelta

from sqlalchemy import select

from crm.auth.models import SignInThrottle, UserSession
from crm.extensions import db
from crm.operations.housekeeping import remove_expired
from crm.timeutil import utcnow


def _throttle(key, last_failure_ago=None, blocked_for=None):
    now = utcnow()
    db.session.add(
        SignInThrottle(
            key=key,
            failures=3,
            last_failure_at=None
            if last_failure_ago is None
            else now - last_failure_ago,
            blocked_until=None if blocked_for is None else now + blocked_for,
        )
    )


def _session(token, user_id, created_ago, ended_ago=None):
    now = utcnow()
    db.session.add(
        UserSession(
            id=token,
            user_id=user_id,
            created_at=now - created_ago,
            ended_at=None if ended_ago is None else now - ended_ago,
        )
    )


def test_old_failed_addresses_and_sessions_go_while_current_blocks_stay(ctx, users):
    _throttle("ip:203.0.113.7", last_failure_ago=timedelta(days=3))  # long quiet
    _throttle("ip:203.0.113.8", last_failure_ago=timedelta(minutes=2))  # counting
    _throttle(  # still made to wait, whatever its last failure
        "ip:203.0.113.9", last_failure_ago=timedelta(hours=1),
        blocked_for=timedelta(minutes=10),
    )  # fmt: skip
    staff = users["staff"]
    _session("a" * 64, staff, timedelta(days=40), ended_ago=timedelta(days=35))
    _session("b" * 64, staff, timedelta(days=3), ended_ago=timedelta(days=2))
    _session("c" * 64, staff, timedelta(days=45))  # never signed out, long over
    _session("d" * 64, staff, timedelta(minutes=5))  # signed in now
    db.session.commit()

    removed = remove_expired()
    db.session.commit()

    assert sorted(db.session.scalars(select(SignInThrottle.key))) == [
        "ip:203.0.113.8",
        "ip:203.0.113.9",
    ]
    assert sorted(db.session.scalars(select(UserSession.id))) == ["b" * 64, "d" * 64]
    assert (removed.throttles, removed.sessions) == (1, 2)


def test_the_command_says_what_it_removed_and_a_signed_in_user_stays_in(app, signed_in):
    with app.app_context():
        _throttle("ip:198.51.100.1", last_failure_ago=timedelta(days=1))
        db.session.commit()
    staff = signed_in("staff")
    result = app.test_cli_runner().invoke(args=["housekeeping"])
    assert result.exit_code == 0, result.output
    # The sign-in's own rows (no failure) and the quiet address go; the session stays.
    assert "Removed: 3 sign-in throttle rows, 0 old sessions" in result.output
    with app.app_context():
        assert db.session.scalar(select(SignInThrottle.key)) is None
    assert staff.get("/likers/").status_code == 200
