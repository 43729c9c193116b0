from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from crm.admin.services import PREFECTURES, local_government_code_is_valid
from crm.auth.services import MIN_PASSWORD_LENGTH
from crm.forms import Required, choices, strip_text

TEXT = {"filters": [strip_text]}
ROLE_CHOICES = [
    ("viewer", _l("Viewer (read only)")),
    ("staff", _l("Staff")),
    ("admin", _l("Administrator")),
]


class UserForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[Required(), Email(), Length(max=254)], **TEXT
    )
    name = StringField(_l("Name"), validators=[Required(), Length(max=100)], **TEXT)
    role = SelectField(_l("Role"), choices=choices(ROLE_CHOICES))
    active = BooleanField(_l("Account active"), default=True)
    password = PasswordField(
        _l("Password (at least 12 characters; leave empty to keep)"),
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
    )


class ReferenceItemForm(FlaskForm):
    """A category or channel."""

    name = StringField(_l("Name"), validators=[Required(), Length(max=50)], **TEXT)
    position = IntegerField(
        _l("Order"), validators=[Optional(), NumberRange(min=0, max=9999)]
    )
    active = BooleanField(_l("In use"), default=True)


class TownSettingsForm(FlaskForm):
    municipality_name = StringField(
        _l("Municipality"), validators=[Required(), Length(max=50)], **TEXT
    )
    local_government_code = StringField(
        _l("Local government code (6 digits)"),
        validators=[Required(), Length(max=6)],
        **TEXT,
    )
    prefecture = SelectField(
        _l("Prefecture"), choices=choices((p, p) for p in PREFECTURES)
    )
    programme_name = StringField(
        _l("Programme name"), validators=[Required(), Length(max=100)], **TEXT
    )
    supporter_word = StringField(
        _l("What the programme calls its supporters"),
        validators=[Required(), Length(max=30)],
        **TEXT,
    )
    mayor_title = StringField(
        _l("Mayor's title"), validators=[Required(), Length(max=50)], **TEXT
    )
    mayor_name = StringField(
        _l("Mayor's name"), validators=[Optional(), Length(max=50)], **TEXT
    )
    number_prefix = StringField(
        _l("Registration number prefix"),
        validators=[Optional(), Length(max=10)],
        **TEXT,
    )
    number_digits = IntegerField(
        _l("Digits in the registration number"),
        validators=[Required(), NumberRange(min=1, max=10)],
    )
    privacy_policy_version = StringField(
        _l("Privacy notice version"),
        validators=[Required(), Length(max=20)],
        **TEXT,
    )
    privacy_policy_text = TextAreaField(
        _l("Privacy notice"), validators=[Optional(), Length(max=20000)]
    )
    registration_review = BooleanField(
        _l("Registrations from the public form wait for staff review")
    )

    def validate_local_government_code(self, field):
        if not local_government_code_is_valid(field.data):
            raise ValidationError(
                _l(
                    "This is not a valid local government code (check digit). Yubari is 012092."
                )
            )
