"""Material files: PDF, DOCX and XLSX only, recognised by their bytes, size-limited.

The extension alone proves nothing: a file is accepted only when its magic bytes (and for
Office files the package parts) match the type its name claims. Macro-enabled packages
(``vbaProject.bin``) are refused.
"""

from __future__ import annotations

import io
import zipfile
from typing import IO

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from cloud.errors import CloudError
from core.errors import Invalid

ALLOWED = {"pdf", "docx", "xlsx"}


def max_bytes() -> int:
    return int(getattr(settings, "GOVHUB_CLOUD_MAX_ATTACHMENT_BYTES", 20 * 1024 * 1024))


def detect_type(data: bytes) -> str | None:
    """'pdf', 'docx', 'xlsx' or None, from the content only."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names or any(n.lower().endswith("vbaproject.bin") for n in names):
        return None
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def read_checked(upload: IO[bytes], filename: str) -> tuple[bytes, str]:
    """Read an upload and return (content, type), or raise ``Invalid`` with a clear reason."""
    limit = max_bytes()
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise Invalid(
            CloudError.ATTACHMENT_TOO_LARGE,
            _("附件超过大小上限（%(mb)s MB）。") % {"mb": limit // (1024 * 1024)},
            {"limit": limit},
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise Invalid(
            CloudError.ATTACHMENT_TOO_LARGE,
            _("附件超过大小上限（%(mb)s MB）。") % {"mb": limit // (1024 * 1024)},
            {"limit": limit},
        )
    if not data:
        raise Invalid(CloudError.BAD_ATTACHMENT, _("附件为空。"))
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    kind = detect_type(data)
    if ext not in ALLOWED or kind != ext:
        raise Invalid(
            CloudError.BAD_ATTACHMENT,
            _("仅接受内容真实的 PDF、DOCX、XLSX 文件（不含宏）；“%(name)s”不符合。")
            % {"name": filename[:100]},
            {"filename": filename[:100], "detected": kind or ""},
        )
    return data, kind
