"""Vendored front-end assets are the published files, unmodified (docs/decisions/0006)."""

import hashlib
from pathlib import Path

from django.conf import settings


def test_echarts_is_the_published_npm_file():
    folder = Path(settings.SRC_DIR) / "static" / "vendor" / "echarts"
    expected = (folder / "VERSION").read_text().split("sha256 ")[1].strip()
    assert hashlib.sha256((folder / "echarts.min.js").read_bytes()).hexdigest() == expected
    assert (folder / "LICENSE").exists()
