from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField
from wtforms.validators import StopValidation

from crm.exports.likers import COLUMNS
from crm.forms import MultiCheckboxField, choices


def format_choices():
    return choices([
        ("xlsx", _l("Excel (.xlsx)")),
        ("csv", _l("CSV in UTF-8 (Excel 2016 and later)")),
        ("csv-cp932", _l("CSV in Shift_JIS (older Excel)")),
    ])  # fmt: skip


def at_least_one(_form, field):
    """Not DataRequired: its required flag would make the browser demand every box."""
    if not field.data:
        raise StopValidation(_l("Choose at least one column."))


class ExportForm(FlaskForm):
    """The file format (the event roster's whole form)."""

    format = RadioField(_l("File format"), choices=format_choices, default="xlsx")
    # "y": characters Shift_JIS lacks may become 〓 (staff saw which, and agreed).
    replace = HiddenField()


class LikersExportForm(ExportForm):
    """The list's filter as its query string, and the columns in the file's order."""

    query = HiddenField()
    columns = MultiCheckboxField(
        _l("Columns"),
        choices=choices((column.key, column.header) for column in COLUMNS),
        validators=[at_least_one],
    )
