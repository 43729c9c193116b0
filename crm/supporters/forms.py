from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    Email,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from crm.admin.services import PREFECTURES
from crm.forms import (
    FlexibleDateField,
    MultiCheckboxField,
    Required,
    RequiredInput,
    choices,
    reject_control_characters,
    strip_text,
)
from crm.japanese import is_kana, phone_key
from crm.supporters.services import SupporterData
from crm.timeutil import today_jst

TEXT = {"filters": [strip_text]}


def kana_only(_form, field):
    if field.data and not is_kana(field.data):
        raise ValidationError(_l("Enter the reading in hiragana or katakana."))


def phone_number(_form, field):
    if field.data:
        digits = phone_key(field.data)
        if not 7 <= len(digits) <= 15:
            raise ValidationError(_l("Enter a phone number such as 0123-45-6789."))


def plausible_birth_date(form, field) -> None:
    """A date of birth between 1900 and today (shared by the public form)."""
    if field.date and not (1900 <= field.date.year and field.date <= today_jst()):
        raise ValidationError(_l("Enter a date of birth between 1900 and today."))


class SupporterForm(FlaskForm):
    family_name = StringField(
        _l("Family name"),
        validators=[Required(), Length(max=100), reject_control_characters],
        **TEXT,
    )
    given_name = StringField(
        _l("Given name"),
        validators=[Required(), Length(max=100), reject_control_characters],
        **TEXT,
    )
    family_name_kana = StringField(
        _l("Family name (kana)"),
        validators=[Required(), Length(max=100), kana_only],
        **TEXT,
    )
    given_name_kana = StringField(
        _l("Given name (kana)"),
        validators=[Required(), Length(max=100), kana_only],
        **TEXT,
    )
    name_romaji = StringField(
        _l("Name in Latin letters"),
        validators=[Optional(), Length(max=200), reject_control_characters],
        **TEXT,
    )
    birth_date = FlexibleDateField(
        _l("Date of birth"), validators=[Optional(), plausible_birth_date]
    )
    birth_year = IntegerField(
        _l("Year of birth (when the date is not known)"),
        validators=[Optional(), NumberRange(min=1900, max=today_jst().year)],
    )
    gender = StringField(
        _l("Gender (optional)"), validators=[Optional(), Length(max=50)], **TEXT
    )
    email = EmailField(
        _l("Email"), validators=[Optional(), Email(), Length(max=254)], **TEXT
    )
    phone = StringField(
        _l("Phone"), validators=[Optional(), Length(max=30), phone_number], **TEXT
    )
    postal_code = StringField(
        _l("Postal code"),
        validators=[Optional(), Regexp(r"^\s*[0-9０-９]{3}[-－ー]?[0-9０-９]{4}\s*$",
                                       message=_l("Enter 7 digits, such as 068-0400."))],
        **TEXT,
    )  # fmt: skip
    prefecture = SelectField(
        _l("Prefecture"),
        choices=choices([("", "—")] + [(p, p) for p in PREFECTURES]),
        validators=[Optional()],
    )
    municipality = StringField(
        _l("City, town or village"), validators=[Optional(), Length(max=100)], **TEXT
    )
    address = StringField(
        _l("Address"),
        validators=[Optional(), Length(max=255), reject_control_characters],
        **TEXT,
    )
    country = StringField(
        _l("Country (if abroad)"), validators=[Optional(), Length(max=60)], **TEXT
    )
    category_ids = MultiCheckboxField(_l("Relationship to the town"), coerce=int)
    channel_id = SelectField(
        _l("How they found the programme"), coerce=int, validators=[Optional()]
    )
    referral_society_id = SelectField(
        _l("Joined through a hometown society"), coerce=int, validators=[Optional()]
    )
    registered_on = DateField(
        _l("Registered on"), validators=[RequiredInput()], default=today_jst
    )
    news_opt_in = BooleanField(_l("Wants to receive news"))
    show_name_publicly = BooleanField(
        _l("Agrees to show the name on the public page of the QR code")
    )
    tags = StringField(
        _l("Tags (separate with commas)"),
        validators=[Optional(), Length(max=500)],
        **TEXT,
    )
    notes = TextAreaField(
        _l("Notes"),
        validators=[Optional(), Length(max=5000), reject_control_characters],
        **TEXT,
    )
    privacy_consent = BooleanField(_l("The person has agreed to the privacy notice"))

    def __init__(
        self, *args, categories=(), channels=(), societies=(), creating=True, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.referral_society_id.choices = choices(
            [(0, "—")] + [(s.id, s.name) for s in societies]
        )
        self.creating = creating
        self.category_ids.choices = choices((c.id, c.name) for c in categories)
        self.channel_id.choices = choices(
            [(0, "—")] + [(c.id, c.name) for c in channels]
        )

    def validate_privacy_consent(self, field):
        if self.creating and not field.data:
            raise ValidationError(
                _l("A Liker can only be registered with their consent.")
            )

    def validate_birth_year(self, field):
        if (
            field.data
            and self.birth_date.date
            and self.birth_date.date.year != field.data
        ):
            raise ValidationError(_l("The year does not match the date of birth."))

    def to_data(self) -> SupporterData:
        return SupporterData(
            family_name=self.family_name.data,
            given_name=self.given_name.data,
            family_name_kana=self.family_name_kana.data,
            given_name_kana=self.given_name_kana.data,
            name_romaji=self.name_romaji.data or None,
            birth_date=self.birth_date.date,
            birth_year=self.birth_year.data,
            gender=self.gender.data or None,
            email=self.email.data or None,
            phone=self.phone.data or None,
            postal_code=postal_code_of(self.postal_code.data),
            prefecture=self.prefecture.data or None,
            municipality=self.municipality.data or None,
            address=self.address.data or None,
            country=self.country.data or None,
            channel_id=self.channel_id.data or None,
            registered_on=self.registered_on.data,
            news_opt_in=self.news_opt_in.data,
            notes=self.notes.data or None,
            referral_society_id=self.referral_society_id.data or None,
            show_name_publicly=self.show_name_publicly.data,
            category_ids=list(self.category_ids.data or []),
            tag_names=[t.strip() for t in (self.tags.data or "").replace("、", ",").split(",") if t.strip()],
        )  # fmt: skip


def postal_code_of(text: str | None) -> str | None:
    digits = phone_key(text)
    return f"{digits[:3]}-{digits[3:]}" if len(digits) == 7 else None


class WithdrawForm(FlaskForm):
    withdrawn_on = DateField(
        _l("Withdrawn on"), validators=[RequiredInput()], default=today_jst
    )
    reason = TextAreaField(
        _l("Reason"), validators=[Optional(), Length(max=1000)], **TEXT
    )


class ConfirmForm(FlaskForm):
    """A form with nothing but the CSRF token, for one-button actions."""
