"""Words for the audit screen: what was done, to what. The log stores codes."""

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "view": _l("Viewed"),
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "withdraw": _l("Withdrawn"),
    "reinstate": _l("Reinstated"),
    "merge": _l("Merged"),
    "export": _l("Exported"),
    "print": _l("Documents printed"),
    "download": _l("Downloaded"),
    "import": _l("Imported"),
    "reissue_token": _l("QR code reissued"),
    "sign_in": _l("Signed in"),
    "sign_in_failed": _l("Sign-in failed"),
    "sign_in_throttled": _l("Sign-in held back"),
    "password_changed": _l("Password changed"),
    "undo_check_in": _l("Check-in undone"),
    "update_attendance": _l("Attendance changed"),
    "set_walk_ins": _l("Walk-in counts set"),
    "add_member": _l("Member added"),
    "update_member": _l("Membership changed"),
    "remove_member": _l("Member removed"),
    "self_register": _l("Registered on the public form"),
    "approve_registration": _l("Registration approved"),
    "reject_registration": _l("Registration rejected"),
    "create_registration_link": _l("Registration link created"),
    "renew_registration_link": _l("Registration link renewed"),
    "revoke_registration_link": _l("Registration link stopped"),
    "withdraw_consent": _l("Consent withdrawn"),
    "disclose": _l("Disclosure package made"),
    "stop_use": _l("Use stopped"),
    "resume_use": _l("Use resumed"),
    "erase": _l("Erased"),
    "reconstruct": _l("Contents of a file looked up"),
}

OBJECT_LABELS = {
    "supporter": _l("Liker"),
    "supporters": _l("Likers"),
    "user": _l("Staff account"),
    "event": _l("Event"),
    "event_day": _l("Event day"),
    "guest": _l("Named guest"),
    "attendance": _l("Attendance"),
    "society": _l("Hometown society"),
    "society_memberships": _l("Society memberships"),
    "partner": _l("Partner"),
    "report": _l("Report"),
    "print_job": _l("Print job"),
    "documents": _l("Documents"),
    "document_images": _l("Logo and seal"),
    "town_settings": _l("Town settings"),
    "audit_entry": _l("Audit entry"),
}


def action_label(code: str) -> str:
    return str(ACTION_LABELS.get(code, code))


def object_label(code: str) -> str:
    return str(OBJECT_LABELS.get(code, code))
