from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SubmitField
from wtforms.validators import Email, Length

from crm.forms import Required


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[Required(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[Required(), Length(max=200)])
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))
