"""Stable error codes of the datastore app (clients branch on ``code``)."""

from __future__ import annotations

from enum import Enum


class DatastoreError(str, Enum):
    NOT_ALLOWED = "datastore.not_allowed"
    NOT_TABLE = "datastore.not_table"
    NOT_PUBLISHED = "datastore.not_published"
    NO_ITEMS = "datastore.no_items"
    NO_KEY = "datastore.no_key"
    EMPTY_FILE = "datastore.empty_file"
    HEADER_ONLY = "datastore.header_only"
    TOO_LARGE = "datastore.too_large"
    LINE_TOO_LONG = "datastore.line_too_long"
    ENCODING = "datastore.encoding"
    BROKEN_QUOTES = "datastore.broken_quotes"
    DUPLICATE_HEADER = "datastore.duplicate_header"
    UNKNOWN_COLUMNS = "datastore.unknown_columns"
    MISSING_COLUMNS = "datastore.missing_columns"
    BAD_FORMAT = "datastore.bad_format"
    XLSX_BOMB = "datastore.xlsx_bomb"
    XLSX_FORMULA = "datastore.xlsx_formula"
    XLSX_MERGED = "datastore.xlsx_merged"
    XLSX_SHEET = "datastore.xlsx_sheet"
    REJECT_THRESHOLD = "datastore.reject_threshold"
    NO_ROWS = "datastore.no_rows"
    BAD_THRESHOLD = "datastore.bad_threshold"
    BAD_MODE = "datastore.bad_mode"
    BAD_PUSH = "datastore.bad_push"
    NOT_RETRYABLE = "datastore.not_retryable"
    TYPE_CHANGE = "datastore.type_change"
    INTERNAL = "datastore.internal"
