"""Checking uploaded files: the type is read from the content, never trusted from the
file name or the browser; sizes are bounded; names are made safe to show and send back.
Images are decoded (Pillow) and re-encoded before they are kept, so only real pictures are
stored: a PNG header followed by SVG or a script is refused, and camera metadata (EXIF, with
its GPS position) is dropped.

Used for patients' documents, the clinic's logo and doctors' signatures.
"""

import hashlib
import io
import os
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

# The first bytes of each accepted format.
FILE_SIGNATURES = {
    "application/pdf": lambda head: head.startswith(b"%PDF-"),
    "image/jpeg": lambda head: head.startswith(b"\xff\xd8\xff"),
    "image/png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/webp": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
}
EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
DOCUMENT_TYPES = frozenset(FILE_SIGNATURES)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP"}


def sniff_content_type(head: bytes) -> str | None:
    return next((content_type for content_type, matches in FILE_SIGNATURES.items() if matches(head)), None)


def safe_file_name(raw: str, content_type: str, fallback: str = "document") -> str:
    """The uploader's file name, reduced to something safe to show and to send back."""
    base = os.path.basename(raw.replace("\\", "/")).strip()
    stem = os.path.splitext(base)[0]
    stem = re.sub(r"[^\w.\- ]+", "_", stem, flags=re.UNICODE).strip(" ._") or fallback
    return stem[:100] + EXTENSIONS[content_type]


PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# A picture larger than this (a phone's photo is ~12 million) is a decompression bomb.
MAX_IMAGE_PIXELS = 50_000_000


@dataclass(frozen=True)
class UploadCheck:
    """What to store: ``file`` (the upload, or an image re-encoded), its type, size and SHA-256."""

    content_type: str
    size: int
    checksum: str
    file: File


def reencode_image(upload: UploadedFile, content_type: str, field: str) -> bytes:
    """The picture decoded in full and written again in its own format, or a
    ValidationError when it is not one."""
    refused = ValidationError({field: f"The {TYPE_NAMES[content_type]} image could not be read: it is damaged or not really an image."})
    try:
        upload.seek(0)
        with Image.open(upload, formats=[PILLOW_FORMATS[content_type]]) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ValidationError({field: "The image is too large (more than 50 megapixels)."})
            image.load()
            upright = ImageOps.exif_transpose(image)
            if content_type == "image/jpeg" and upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            out = io.BytesIO()
            upright.save(out, format=PILLOW_FORMATS[content_type], **({"quality": 90} if content_type != "image/png" else {}))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise refused from None
    return out.getvalue()


def _accepted_list(types) -> str:
    names = [TYPE_NAMES[content_type] for content_type in FILE_SIGNATURES if content_type in types]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def check_upload(upload: UploadedFile, *, allowed=DOCUMENT_TYPES, max_bytes: int, field: str = "file") -> UploadCheck:
    """Size, type from the first bytes and SHA-256 of an upload, or a ValidationError
    on ``field`` that says what is wrong."""
    size = upload.size or 0
    if size > max_bytes:
        limit = f"{max_bytes / 1_048_576:.0f} MB" if max_bytes >= 1_048_576 else f"{max_bytes // 1024} KB"
        raise ValidationError({field: f"The file is {size / 1_048_576:.1f} MB; the limit is {limit}."})
    if size == 0:
        raise ValidationError({field: "The file is empty."})
    upload.seek(0)
    content_type = sniff_content_type(upload.read(16))
    if content_type is None or content_type not in allowed:
        raise ValidationError({field: f"Only {_accepted_list(allowed)} files can be uploaded; this file is none of them."})
    if content_type in IMAGE_TYPES:
        data = reencode_image(upload, content_type, field)
        return UploadCheck(content_type, len(data), hashlib.sha256(data).hexdigest(), ContentFile(data, name=upload.name))
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return UploadCheck(content_type=content_type, size=size, checksum=digest.hexdigest(), file=upload)


def image_data_uri(field_file, content_type: str) -> str:
    """A stored image as a ``data:`` URI, to show it in a page or a PDF without giving
    the file a URL of its own (uploads are never served publicly)."""
    import base64

    if not field_file or content_type not in IMAGE_TYPES:
        return ""
    try:
        with field_file.open("rb") as stored:
            data = stored.read()
    except OSError:
        return ""  # the file is gone from storage: show nothing rather than fail the page
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"
