from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import Email, Length, Optional

from crm.forms import Required, choices, reject_control_characters, strip_text
from crm.partners.models import PARTNER_KINDS
from crm.partners.services import PartnerData

TEXT = {"filters": [strip_text]}


def partner_kind_labels():
    return {
        "npo": _l("NPO"), "general_incorporated": _l("General incorporated association"),
        "company": _l("Company"), "school": _l("School"), "other": _l("Other"),
    }  # fmt: skip


class PartnerForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[Required(), Length(max=200), reject_control_characters],
        **TEXT,
    )
    kind = SelectField(_l("Kind"))
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = partner_kind_labels()
        self.kind.choices = choices((key, labels[key]) for key in PARTNER_KINDS)

    def to_data(self) -> PartnerData:
        return PartnerData(
            name=self.name.data,
            kind=self.kind.data,
            contact_person=self.contact_person.data or None,
            email=self.email.data or None,
            phone=self.phone.data or None,
            notes=self.notes.data or None,
        )
