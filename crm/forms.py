"""Form pieces shared by several features."""

import unicodedata

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from crm.eras import DateParseError, parse_date


def allows_upload(size: int):
    """Mark a view whose form may carry a file bigger than MAX_CONTENT_LENGTH
    (the import's lists); the limit is raised for its requests only."""

    def mark(view):
        view.max_upload = size
        return view

    return mark


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class FlexibleDateField(StringField):
    """A date typed as 1980-04-01, 1980/4/1 or 昭和55年4月1日; kept as typed on error."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault(
            "placeholder", _l("e.g. %(example)s", example="1980-04-01 / 昭和55年4月1日")
        )
        super().__init__(label, validators, **kwargs)
        self.date = None

    def process_data(self, value):
        super().process_data(value.isoformat() if value else "")
        self.date = value

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.date = None
        text = (self.data or "").strip()
        if text:
            try:
                self.date = parse_date(text)
            except DateParseError as error:
                raise ValueError(
                    _l("Enter a date such as 1980-04-01 or 昭和55年4月1日.")
                ) from error


class _NamesTheField:
    """A required-field message that names the field: 「姓」を入力してください。"""

    def __call__(self, form, field):
        try:
            super().__call__(form, field)
        except StopValidation as error:
            if field.type in ("SelectField", "DateField"):
                message = _l("Choose %(field)s.", field=field.label.text)
            else:
                message = _l("Enter %(field)s.", field=field.label.text)
            raise StopValidation(message) from error


class Required(_NamesTheField, DataRequired):
    """DataRequired with a message naming the field."""


class RequiredInput(_NamesTheField, InputRequired):
    """InputRequired (accepts 0 and False) with a message naming the field."""


def strip_text(value):
    """Trim surrounding spaces (full-width too) without touching the characters."""
    if isinstance(value, str):
        return value.strip(" \t\r\n\u3000")
    return value


def reject_control_characters(_form, field):
    text = field.data or ""
    for char in text:
        category = unicodedata.category(char)
        if char in "\r\n\t" and field.type == "TextAreaField":
            continue
        if (
            category in ("Cc", "Cs")
            or char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
        ):
            raise ValidationError(
                _l("This field contains characters that cannot be stored.")
            )
