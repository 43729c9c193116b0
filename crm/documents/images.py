"""Uploaded images for the documents: checked, cleaned and kept as PNG.

Only PNG and JPEG are accepted, up to MAX_BYTES and MAX_PIXELS a side. Every image
is decoded and written again as PNG: whatever else the file carried (metadata,
trailing data) stays behind. A seal scanned on white paper gets a transparent
background, so that it can overlap the mayor's name as a stamped seal does.
"""

import io
from dataclasses import dataclass

from PIL import Image, ImageChops, UnidentifiedImageError
from sqlalchemy import delete

from crm.audit.services import record_event
from crm.documents.models import IMAGE_KINDS, DocumentImage
from crm.extensions import db

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 4000  # a side, in the uploaded file
STORED_PIXELS = 1200  # a side, as kept: 300 dpi over 10 cm is plenty
MIN_PIXELS = 32
WHITE_LEVEL = 235  # above this in R, G and B counts as paper


@dataclass
class ImageProblem(Exception):
    """Why an upload was refused; code picks the message shown to staff."""

    code: str  # too_big, not_an_image, wrong_format, too_many_pixels, too_small


def clean_image(data: bytes, kind: str) -> tuple[bytes, int, int]:
    """The upload as a clean PNG (bytes, width, height), or ImageProblem."""
    if len(data) > MAX_BYTES:
        raise ImageProblem("too_big")
    try:
        image = Image.open(io.BytesIO(data))
        image_format = image.format
    except (UnidentifiedImageError, OSError) as error:
        raise ImageProblem("not_an_image") from error
    if image_format not in ("PNG", "JPEG"):
        raise ImageProblem("wrong_format")
    width, height = image.size  # read from the header, before decoding anything
    if width > MAX_PIXELS or height > MAX_PIXELS:
        raise ImageProblem("too_many_pixels")
    if width < MIN_PIXELS or height < MIN_PIXELS:
        raise ImageProblem("too_small")
    try:
        image.load()
    except (OSError, Image.DecompressionBombError) as error:
        raise ImageProblem("not_an_image") from error
    image = image.convert("RGBA")
    image.thumbnail((STORED_PIXELS, STORED_PIXELS))
    if kind == "seal":
        image = _paper_made_transparent(image)
    output = io.BytesIO()
    image.save(output, "PNG", optimize=True)
    return output.getvalue(), image.width, image.height


def _paper_made_transparent(image: Image.Image) -> Image.Image:
    """White and near-white pixels become transparent; the seal's ink stays."""
    red, green, blue, alpha = image.split()
    palest = ImageChops.darker(ImageChops.darker(red, green), blue)
    paper = palest.point(lambda value: 255 if value > WHITE_LEVEL else 0)
    alpha.paste(0, mask=paper)
    image.putalpha(alpha)
    return image


def save_image(kind: str, data: bytes, user=None) -> DocumentImage:
    """Check and keep an uploaded logo or seal, replacing the previous one."""
    if kind not in IMAGE_KINDS:
        raise ValueError(kind)
    content, width, height = clean_image(data, kind)
    image = db.session.get(DocumentImage, kind) or DocumentImage(kind=kind)
    image.content, image.width, image.height = content, width, height
    image.uploaded_by_id = user.id if user else None
    db.session.add(image)
    record_event("update", "document_images", None, {"kind": kind}, user=user)
    return image


def remove_image(kind: str, user=None) -> bool:
    removed = db.session.execute(
        delete(DocumentImage).where(DocumentImage.kind == kind)
    )
    if removed.rowcount:
        record_event("delete", "document_images", None, {"kind": kind}, user=user)
    return bool(removed.rowcount)
