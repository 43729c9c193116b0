from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth import bp
from crm.auth.forms import ChangePasswordForm, LoginForm
from crm.auth.permissions import public, requires_role
from crm.auth.services import UserError, set_user_password, sign_in
from crm.auth.sessions import end_session, start_session
from crm.extensions import db


def safe_next(target: str | None) -> str:
    """Only same-site paths; anything else goes to the Likers list."""
    if target:
        parts = urlsplit(target)
        # "/\\host" is read by browsers as "//host": another site.
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith(("//", "/\\"))
        ):
            return target
    return url_for("supporters.index")


def _wait_message(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    return _(
        "Too many failed sign-in attempts. Please wait %(minutes)d minute(s) "
        "and try again.",
        minutes=minutes,
    )


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        result = sign_in(form.email.data, form.password.data, request.remote_addr)
        if result.user is not None:
            start_session(result.user)  # a new session: nothing of the old one
            db.session.commit()
            return redirect(safe_next(form.next.data))
        db.session.commit()  # the failure counts and the audit rows
        if result.throttled:
            flash(_wait_message(result.wait_seconds), "danger")
            return render_template("auth/login.html", form=form), 429
        flash(_("The email or password is not correct."), "danger")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    end_session("sign_out")
    db.session.commit()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires_role("viewer")
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        result = sign_in(
            current_user.email,
            form.current_password.data,
            request.remote_addr,
            signing_in=False,
        )
        if result.throttled:
            db.session.commit()
            form.current_password.errors.append(_wait_message(result.wait_seconds))
        elif result.user is None:
            db.session.commit()  # a wrong current password counts as a failure
            form.current_password.errors.append(_("The current password is wrong."))
        else:
            user = result.user
            try:
                set_user_password(user, form.new_password.data)
            except UserError as error:
                form.new_password.errors.append(str(error))
            else:
                start_session(user)  # this browser goes on; every other one ends
                db.session.commit()
                flash(
                    _("Your password has been changed. Other sign-ins have ended."),
                    "success",
                )
                return redirect(url_for("main.home"))
    return render_template("auth/change_password.html", form=form)
