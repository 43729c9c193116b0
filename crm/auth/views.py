from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from crm.auth import bp
from crm.auth.forms import LoginForm
from crm.auth.permissions import public
from crm.auth.services import authenticate
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


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        db.session.commit()
        if user is None:
            flash(_("The email or password is not correct."), "danger")
        else:
            language = session.get("language")
            session.clear()  # a fresh session at sign-in (no fixation)
            if language:
                session["language"] = language
            login_user(user)
            return redirect(safe_next(form.next.data))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))
