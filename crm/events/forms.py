from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from crm.eras import DateParseError, parse_date
from crm.events.models import (
    ATTENDANCE_ROLES,
    EVENT_KINDS,
    EVENT_LOCATIONS,
    EVENT_STATUSES,
    GUEST_GROUPS,
)
from crm.events.services import EventData
from crm.forms import (
    MultiCheckboxField,
    Required,
    choices,
    reject_control_characters,
    strip_text,
)
from crm.templating import town_terms

TEXT = {"filters": [strip_text]}


def kind_labels():
    return {
        "event": _l("Event"), "workshop": _l("Workshop"), "tour": _l("Tour"),
        "meeting": _l("Meeting"), "pr": _l("PR"), "online": _l("Online"),
    }  # fmt: skip


def status_labels():
    return {"planned": _l("Planned"), "held": _l("Held"), "cancelled": _l("Cancelled")}


def location_labels():
    return {
        "in_town": town_terms()["inside"], "outside": town_terms()["outside"],
        "online": _l("Online"),
    }  # fmt: skip


def role_labels():
    return {
        "participant": _l("Participant"), "volunteer": _l("Volunteer"),
        "speaker": _l("Speaker"), "helper": _l("Helper"),
    }  # fmt: skip


def group_labels():
    return {"citizen": town_terms()["residents"], "visitor": _l("Other visitors")}


def _choices_from(labels: dict, keys) -> list:
    return choices((key, labels[key]) for key in keys)


def parse_days(text: str) -> list:
    """Dates one per line (or separated by commas): 2025-08-01, 令和7年8月2日, …"""
    days = []
    for part in (text or "").replace("、", "\n").replace(",", "\n").splitlines():
        part = part.strip()
        if part:
            days.append(parse_date(part))
    return days


class EventForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[Required(), Length(max=200), reject_control_characters],
        **TEXT,
    )
    dates = TextAreaField(
        _l("Days (one date per line)"),
        validators=[Required()],
        render_kw={"rows": 3, "placeholder": "2026-08-01\n令和8年8月2日"},
    )
    theme_id = SelectField(_l("Theme"), coerce=int, validators=[Optional()])
    kind = SelectField(_l("Kind"))
    status = SelectField(_l("Status"))
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)], **TEXT)
    location = SelectField(_l("Where"))
    capacity = IntegerField(
        _l("Capacity"), validators=[Optional(), NumberRange(min=1, max=100000)]
    )
    partner_ids = MultiCheckboxField(_l("Partner organisations"), coerce=int)
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=5000), reject_control_characters],
        **TEXT,
    )

    def __init__(self, *args, themes=(), partners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.theme_id.choices = choices([(0, "—")] + [(t.id, t.name) for t in themes])
        self.kind.choices = _choices_from(kind_labels(), EVENT_KINDS)
        self.status.choices = _choices_from(status_labels(), EVENT_STATUSES)
        self.location.choices = _choices_from(location_labels(), EVENT_LOCATIONS)
        self.partner_ids.choices = choices((p.id, p.name) for p in partners)
        self.parsed_days = []

    def validate_dates(self, field):
        try:
            self.parsed_days = parse_days(field.data)
        except DateParseError as error:
            raise ValidationError(
                _l("Enter each day as a date such as 2026-08-01 or 令和8年8月1日.")
            ) from error
        if not self.parsed_days:
            raise ValidationError(_l("Enter at least one day."))
        if len(set(self.parsed_days)) > 60:
            raise ValidationError(_l("An event can have at most 60 days."))

    def to_data(self) -> EventData:
        return EventData(
            title=self.title.data,
            days=self.parsed_days,
            theme_id=self.theme_id.data or None,
            kind=self.kind.data,
            place=self.place.data or None,
            location=self.location.data,
            capacity=self.capacity.data,
            description=self.description.data or None,
            status=self.status.data,
            partner_ids=list(self.partner_ids.data or []),
        )


class WalkInForm(FlaskForm):
    """Counts typed in on the event page (e.g. from a paper tally).

    The counts shown when the page was loaded come back too: only a count that
    was changed is saved, so a desk counting +1 meanwhile loses nothing.
    """

    citizen = IntegerField(
        _l("Citizens"), validators=[Optional(), NumberRange(min=0, max=100000)]
    )
    visitor = IntegerField(
        _l("Other visitors"), validators=[Optional(), NumberRange(min=0, max=100000)]
    )
    citizen_shown = IntegerField(validators=[Optional()])
    visitor_shown = IntegerField(validators=[Optional()])

    def changed_counts(self) -> dict[str, int]:
        return {
            group: getattr(self, group).data
            for group in ("citizen", "visitor")
            if getattr(self, group).data is not None
            and getattr(self, group).data != getattr(self, f"{group}_shown").data
        }


class GuestForm(FlaskForm):
    group = SelectField(_l("Group"))
    name = StringField(
        _l("Name"),
        validators=[Required(), Length(max=200), reject_control_characters],
        **TEXT,
    )
    name_kana = StringField(
        _l("Reading (kana)"), validators=[Optional(), Length(max=200)], **TEXT
    )
    contact = StringField(
        _l("Email or phone"), validators=[Optional(), Length(max=254)], **TEXT
    )
    notes = StringField(_l("Notes"), validators=[Optional(), Length(max=500)], **TEXT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.group.choices = _choices_from(group_labels(), GUEST_GROUPS)


class RoleForm(FlaskForm):
    role = SelectField(_l("Role at the event"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = _choices_from(role_labels(), ATTENDANCE_ROLES)
