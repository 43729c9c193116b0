from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SubmitField
from wtforms.validators import Email, EqualTo, Length

from crm.auth.passwords import MAX_PASSWORD_LENGTH
from crm.forms import Required


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[Required(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[Required(), Length(max=200)])
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[Required(), Length(max=200)]
    )
    new_password = PasswordField(
        _l("New password (at least 12 characters)"),
        validators=[Required(), Length(max=MAX_PASSWORD_LENGTH)],
    )
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[
            Required(),
            EqualTo("new_password", message=_l("The two new passwords differ.")),
        ],
    )
    submit = SubmitField(_l("Change password"))
