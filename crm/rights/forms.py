from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class EraseForm(FlaskForm):
    """Erasing asks for the registration number typed again, as a confirmation."""

    registration_number = StringField(
        _l("Registration number"),
        validators=[
            DataRequired(message=_l("Type the registration number to confirm.")),
            Length(max=32),
        ],
    )
