from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from crm.forms import choices
from crm.supporters.forms import SupporterForm, postal_code_of
from crm.supporters.services import SupporterData
from crm.timeutil import today_jst

_F = SupporterForm


class RegistrationForm(FlaskForm):
    """What a person fills in about themselves on the public form."""

    family_name = _F.family_name
    given_name = _F.given_name
    family_name_kana = _F.family_name_kana
    given_name_kana = _F.given_name_kana
    email = _F.email
    phone = _F.phone
    postal_code = _F.postal_code
    prefecture = _F.prefecture
    municipality = _F.municipality
    address = _F.address
    birth_date = _F.birth_date
    category_ids = _F.category_ids
    channel_id = SelectField(
        _l("How did you hear about the programme?"),
        coerce=int,
        validators=[Optional()],
    )
    privacy_consent = BooleanField(
        _l("I have read the purpose of use above and agree to it")
    )
    news_opt_in = BooleanField(_l("Send me news about events and the town"))
    show_name_publicly = BooleanField(
        _l("Show my name on my public page (the page my QR code opens)")
    )
    # Left empty by people; bots that fill in every field fill this in too.
    website = StringField(_l("Leave this field empty"), validators=[Length(max=200)])
    submission_key = HiddenField()
    ref = HiddenField()

    def __init__(self, *args, categories=(), channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.category_ids.choices = choices((c.id, c.name) for c in categories)
        self.channel_id.choices = choices(
            [(0, "—")] + [(c.id, c.name) for c in channels]
        )

    def validate_privacy_consent(self, field):
        if not field.data:
            raise ValidationError(_l("Please agree to the purpose of use to register."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not (self.email.data or self.phone.data or self.email.errors):
            self.phone.errors = [
                *self.phone.errors,
                _l(
                    "Enter an email address or a phone number, so the town can reach you."
                ),
            ]
            valid = False
        return valid

    def to_data(self) -> SupporterData:
        return SupporterData(
            family_name=self.family_name.data,
            given_name=self.given_name.data,
            family_name_kana=self.family_name_kana.data,
            given_name_kana=self.given_name_kana.data,
            birth_date=self.birth_date.date,
            email=self.email.data or None,
            phone=self.phone.data or None,
            postal_code=postal_code_of(self.postal_code.data),
            prefecture=self.prefecture.data or None,
            municipality=self.municipality.data or None,
            address=self.address.data or None,
            channel_id=self.channel_id.data or None,
            registered_on=today_jst(),
            news_opt_in=self.news_opt_in.data,
            show_name_publicly=self.show_name_publicly.data,
            category_ids=list(self.category_ids.data or []),
        )
