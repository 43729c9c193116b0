from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.validators import ValidationError

from crm.forms import choices
from crm.supporters.forms import SupporterForm, postal_code_of
from crm.supporters.services import SupporterData
from crm.timeutil import today_jst

_F = SupporterForm


class QuickSupporterForm(FlaskForm):
    """The new-Liker form at the desk: the fewest fields that make a Liker."""

    family_name = _F.family_name
    given_name = _F.given_name
    family_name_kana = _F.family_name_kana
    given_name_kana = _F.given_name_kana
    postal_code = _F.postal_code
    prefecture = _F.prefecture
    municipality = _F.municipality
    email = _F.email
    phone = _F.phone
    category_ids = _F.category_ids
    news_opt_in = _F.news_opt_in
    privacy_consent = _F.privacy_consent

    def __init__(self, *args, categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.category_ids.choices = choices((c.id, c.name) for c in categories)

    def validate_privacy_consent(self, field):
        if not field.data:
            raise ValidationError(
                _l("A Liker can only be registered with their consent.")
            )

    def to_data(self, channel_id: int | None) -> SupporterData:
        return SupporterData(
            family_name=self.family_name.data,
            given_name=self.given_name.data,
            family_name_kana=self.family_name_kana.data,
            given_name_kana=self.given_name_kana.data,
            postal_code=postal_code_of(self.postal_code.data),
            prefecture=self.prefecture.data or None,
            municipality=self.municipality.data or None,
            email=self.email.data or None,
            phone=self.phone.data or None,
            channel_id=channel_id,
            registered_on=today_jst(),
            news_opt_in=self.news_opt_in.data,
            category_ids=list(self.category_ids.data or []),
        )
