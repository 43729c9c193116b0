"""Public tokens: what a Liker's QR code carries instead of any personal data."""

import re
import secrets
import unicodedata
from urllib.parse import urlsplit

# The short path printed in QR codes: <CRM_PUBLIC_BASE_URL>/v/<token>.
PUBLIC_PATH_PREFIX = "/v/"
TOKEN_BYTES = 16  # 128 bits: unguessable, 22 characters in base64url
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,40}")


def new_public_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def public_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{PUBLIC_PATH_PREFIX}{token}"


def looks_like_token(text: str) -> bool:
    return bool(text) and _TOKEN.fullmatch(text) is not None


def token_from_scan(text: str) -> str | None:
    """The token in what a QR scanner typed: a URL with /v/<token>, or the bare token.

    Keyboard-wedge scanners sometimes arrive through a Japanese IME, so full-width
    characters are folded first. Any host is accepted: the token decides.
    """
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text:
        return None
    if "/" in text:
        path = urlsplit(text if "://" in text else f"//{text}").path
        if PUBLIC_PATH_PREFIX not in path:
            return None
        text = path.split(PUBLIC_PATH_PREFIX, 1)[1].strip("/")
    return text if looks_like_token(text) else None
