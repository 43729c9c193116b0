from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Email, Length, Optional

from crm.forms import (
    FlexibleDateField,
    Required,
    choices,
    reject_control_characters,
    strip_text,
)
from crm.societies.models import MEMBERSHIP_ROLES
from crm.societies.services import SocietyData

TEXT = {"filters": [strip_text]}


def membership_role_labels():
    return {"member": _l("Member"), "officer": _l("Officer")}


class SocietyForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[Required(), Length(max=200), reject_control_characters],
        **TEXT,
    )
    region = StringField(
        _l("Region or city"), validators=[Optional(), Length(max=100)], **TEXT
    )
    contact_person = StringField(
        _l("Contact person"), validators=[Optional(), Length(max=100)], **TEXT
    )
    email = EmailField(
        _l("Email"), validators=[Optional(), Email(), Length(max=254)], **TEXT
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=30)], **TEXT)
    notes = TextAreaField(
        _l("Notes"),
        validators=[Optional(), Length(max=5000), reject_control_characters],
        **TEXT,
    )

    def to_data(self) -> SocietyData:
        return SocietyData(
            name=self.name.data,
            region=self.region.data or None,
            contact_person=self.contact_person.data or None,
            email=self.email.data or None,
            phone=self.phone.data or None,
            notes=self.notes.data or None,
        )


class MembershipForm(FlaskForm):
    """Add a Liker to a society: by registration number, or from the Liker's page."""

    registration_number = StringField(
        _l("Registration number"), validators=[Optional(), Length(max=32)], **TEXT
    )
    # Checked in the view: the form on a Liker's page sends it, the one on a
    # society's page does not.
    society_id = SelectField(
        _l("Hometown society"), coerce=int, validate_choice=False, default=0
    )
    supporter_id = HiddenField()
    role = SelectField(_l("Role"), default="member")
    since = FlexibleDateField(_l("Member since"), validators=[Optional()])

    def __init__(self, *args, societies=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = membership_role_labels()
        self.role.choices = choices((key, labels[key]) for key in MEMBERSHIP_ROLES)
        self.society_id.choices = choices(
            [(0, _l("Choose a society"))] + [(s.id, s.name) for s in societies]
        )
