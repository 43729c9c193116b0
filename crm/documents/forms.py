from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import FloatField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, ValidationError

from crm.documents.placeholders import unknown_placeholders
from crm.forms import Required, RequiredInput, choices, strip_text

TEXT = {"filters": [strip_text]}
CERTIFICATE_LAYOUTS = [
    ("vertical", _l("Vertical writing (縦書き, A4 landscape)")),
    ("horizontal", _l("Horizontal writing (横書き, A4 portrait)")),
]
DATE_STYLES = [
    ("era", _l("Japanese era (令和8年11月23日)")),
    ("western", _l("Western (2026年11月23日)")),
]


def known_placeholders_only(form, field):
    unknown = unknown_placeholders(field.data or "")
    if unknown:
        raise ValidationError(
            _l(
                "%(names)s is not a placeholder: use those listed below.",
                names="、".join("{" + name + "}" for name in unknown),
            )
        )


class DocumentSettingsForm(FlaskForm):
    """The texts and layout of the certificate and the business card."""

    certificate_title = StringField(
        _l("Certificate title"), validators=[Required(), Length(max=30)], **TEXT
    )
    certificate_body = TextAreaField(
        _l("Certificate text"),
        validators=[Required(), Length(max=400), known_placeholders_only],
        **TEXT,
    )
    certificate_layout = SelectField(
        _l("Certificate layout"), choices=choices(CERTIFICATE_LAYOUTS)
    )
    certificate_date_style = SelectField(
        _l("Date on horizontal certificates"), choices=choices(DATE_STYLES)
    )
    card_title = StringField(
        _l("Title line on the card"),
        validators=[Required(), Length(max=50), known_placeholders_only],
        **TEXT,
    )
    card_back_text = TextAreaField(
        _l("Message on the back of the card"),
        validators=[Length(max=200), known_placeholders_only],
        **TEXT,
    )
    card_offset_x = FloatField(
        _l("Move cards right (mm)"),
        validators=[RequiredInput(), NumberRange(min=-10, max=10)],
        default=0,
    )
    card_offset_y = FloatField(
        _l("Move cards down (mm)"),
        validators=[RequiredInput(), NumberRange(min=-10, max=10)],
        default=0,
    )


class ImageUploadForm(FlaskForm):
    image = FileField(
        _l("Image file (PNG or JPEG, up to 2 MB)"),
        validators=[FileRequired(_l("Choose an image file."))],
    )
