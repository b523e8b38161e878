"""Readers of uploaded data: CSV (UTF-8, UTF-8 BOM, GB18030/GBK, delimiter ``,`` ``\\t`` ``|``),
XLSX (the sheet's XML streamed in pieces and parsed with polars, decision 0009) and JSON Lines
(also used for API push).

Each reader streams: it yields batches of raw text values with their source line numbers and
never holds the whole file. File-level problems (empty file, bad header, broken quotes, a line
with no end, a zip bomb, formulas, merged cells) raise ``core.errors.Invalid`` with a clear
message; value-level problems are left to ``datastore.validation``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import Invalid

from . import conf
from .errors import DatastoreError as E
from .tables import Column

DELIMITERS = (",", "\t", "|")


@dataclass
class Batch:
    """Raw values of up to ``conf.batch_rows()`` rows: ``values[column] -> list[str | None]``."""

    lines: list[int]
    values: dict[str, list]
    rejects: list[tuple[int, str, str, str]] = field(default_factory=list)  # (line, column, reason, value)
    rejected_lines: int = 0
    bytes_done: int = 0
    #: No value holds a comma, a quote or a line break (a simple comma-separated file read by the fast
    #: path): the staging CSV needs no quoting (``tables.staging_encode``).
    plain: bool = False


@dataclass
class Header:
    """The mapping of the file's columns to data items."""

    columns: list[Column | None]
    names: list[str]


def map_header(names: Sequence[str], cols: Sequence[Column], *, mode: str, line: int = 1) -> Header:
    """Match each header cell to a data item by code (case-insensitive) or Chinese name."""
    by_key: dict[str, Column] = {}
    for c in cols:
        by_key[c.code.strip().lower()] = c
        by_key[c.name.strip().lower()] = c
    cleaned = [str(n or "").strip().lstrip("\ufeff").strip() for n in names]
    if not any(cleaned):
        raise Invalid(E.EMPTY_FILE, "文件为空或表头为空：第一行应为信息项代码或名称。")
    mapped: list[Column | None] = []
    unknown, seen, dupes = [], {}, []
    for name in cleaned:
        col = by_key.get(name.lower())
        if col is None:
            if name:
                unknown.append(name)
            mapped.append(None)
            continue
        if col.item_id in seen:
            dupes.append(f"{name}（与“{seen[col.item_id]}”重复）")
        seen[col.item_id] = name
        mapped.append(col)
    if dupes:
        raise Invalid(
            E.DUPLICATE_HEADER, "表头有重复的列：" + "、".join(dupes), {"columns": dupes, "line": line}
        )
    if unknown:
        raise Invalid(
            E.UNKNOWN_COLUMNS,
            "表头含有未登记的信息项：" + "、".join(unknown) + "。请使用目录中的信息项代码或名称。",
            {"columns": unknown, "line": line},
        )
    present = {c.item_id for c in mapped if c is not None}
    missing = [c.label for c in cols if c.required and c.item_id not in present]
    if mode in ("upsert", "replace"):
        missing += [c.label for c in cols if c.is_key and not c.required and c.item_id not in present]
    if missing:
        raise Invalid(
            E.MISSING_COLUMNS,
            "缺少必填或主键信息项：" + "、".join(missing),
            {"columns": missing, "line": line},
        )
    return Header(columns=mapped, names=cleaned)


# --- encoding ---------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030`` (covers GBK and GB2312), from the first 1 MB."""
    with open(path, "rb") as f:
        sample = f.read(1024 * 1024)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:200_000]).best()
    enc = (best.encoding if best else "") or ""
    if enc.replace("_", "").lower() in {"gb2312", "gbk", "gb18030", "hz"}:
        return "gb18030"
    raise Invalid(E.ENCODING, "无法识别文件编码：请使用 UTF-8 或 GB18030/GBK 编码保存。")


class _GuardedLines:
    """Iterates physical lines (``\\n``, ``\\r\\n`` or ``\\r``) and refuses one longer than the
    limit, so a file without line breaks cannot be read whole into memory."""

    def __init__(self, text: io.TextIOBase, limit: int):
        self.text, self.limit, self.line, self.chars = text, limit, 0, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        try:
            s = self.text.readline(self.limit + 1)
        except UnicodeDecodeError:
            raise Invalid(
                E.ENCODING,
                f"第 {self.line + 1} 行附近的字符无法按检测到的编码解码：请确认整个文件使用同一种编码（UTF-8 或 GB18030）。",
                {"line": self.line + 1},
            )
        if not s:
            raise StopIteration
        self.line += 1
        self.chars += len(s)
        if len(s) > self.limit and not s.endswith(("\n", "\r")):
            raise Invalid(
                E.LINE_TOO_LONG,
                f"第 {self.line} 行超过 {self.limit} 个字符的上限（文件可能没有换行符或不是表格数据）。",
                {"line": self.line, "limit": self.limit},
            )
        return s


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


# --- CSV -------------------------------------------------------------------------------------


@dataclass
class FileShape:
    """What a byte scan of the whole file found (C-speed, chunk by chunk)."""

    lines: int = 0
    simple: bool = True  # no quotes, no bare CR, no blank line, no NUL/US byte: one record per line


def check_line_lengths(path: Path, limit: int) -> FileShape:
    """Refuse a file with a physical line longer than ``limit`` bytes, scanning it in chunks, so
    that a file without line breaks is never read whole into memory; note whether every line is
    one plain record (then the fast columnar reader may be used). Every test is a C-speed
    search of the chunk; the costlier carriage-return counts run only for chunks that have one."""
    shape = FileShape()
    run = 0  # bytes since the last line break
    prev = b"\n"  # last byte of the previous chunk (a file starting with a blank line is not simple)
    done = 0  # bytes before this chunk
    with open(path, "rb") as f:
        while chunk := f.read(limit):
            n, r = chunk.find(b"\n"), chunk.find(b"\r")
            first = min(i for i in (n, r) if i >= 0) if n >= 0 or r >= 0 else -1
            if first < 0:
                run += len(chunk)
            else:
                if run + first > limit:
                    break
                run = len(chunk) - 1 - max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
            if run > limit:
                break
            if shape.simple:
                if (
                    b'"' in chunk
                    or b"\x00" in chunk
                    or b"\x1f" in chunk
                    or b"\n\n" in chunk
                    or (prev == b"\n" and chunk[:1] == b"\n")
                ):
                    shape.simple = False
                elif r >= 0 or prev == b"\r":
                    joined = prev + chunk
                    ends_cr = 1 if joined.endswith(b"\r") else 0
                    if joined.count(b"\r") != joined.count(b"\r\n") + ends_cr or b"\n\r\n" in joined:
                        shape.simple = False
            prev = chunk[-1:]
            done += len(chunk)
        else:
            return shape
    # The error path only: which line is too long.
    with open(path, "rb") as f:
        lines = f.read(done).count(b"\n") if done <= 64 * 1024 * 1024 else _count_lines(f, done)
    shape.lines = lines
    raise Invalid(
        E.LINE_TOO_LONG,
        f"第 {shape.lines + 1} 行超过 {limit} 字节的上限（文件可能没有换行符或不是表格数据）。",
        {"line": shape.lines + 1, "limit": limit},
    )


def _count_lines(f, size: int) -> int:
    lines = 0
    while size > 0 and (chunk := f.read(min(size, 1024 * 1024))):
        lines += chunk.count(b"\n")
        size -= len(chunk)
    return lines


def locate_decode_error(path: Path, encoding: str) -> int | None:
    """The physical line of the first byte that does not decode (the text stream reads ahead,
    so its position is only approximate)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            try:
                decoder.decode(chunk, final=False)
            except UnicodeDecodeError as exc:
                return lines + chunk.count(b"\n", 0, max(exc.start, 0)) + 1
            lines += chunk.count(b"\n")
    return None


#: Bytes of whole lines parsed at once by the columnar CSV reader: about 19,000 rows of a typical
#: 20-column table. Each piece is validated as one batch, and a batch costs a fixed ~10 ms on top
#: of its rows: 2 MB pieces took 40 % longer to validate; 8 MB pieces took peak memory to 300 MB
#: (issue 6: < 300 MB; measured in docs/PERFORMANCE.md).
CSV_PIECE_BYTES = 6 * 1024 * 1024


def _line_chunks(path: Path, *, skip_first: bool, size: int = 0):
    """Whole lines of a file in pieces of about ``size`` bytes (bounded memory, no mmap)."""
    size = size or CSV_PIECE_BYTES
    with open(path, "rb") as f:
        rest = b""
        first = skip_first
        while True:
            block = f.read(size)
            data = rest + block
            if not block:
                if data.strip() and not first:  # the last line, without a line break
                    yield _Piece(data, f.tell())
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            piece, rest = data[:cut], data[cut:]
            if first:
                piece = piece[piece.find(b"\n") + 1 :]
                first = False
            if piece:
                yield _Piece(piece, f.tell() - len(rest))


class _Piece(io.BytesIO):
    """Bytes of whole lines, with the file offset reached after them."""

    def __init__(self, data: bytes, offset: int):
        super().__init__(data)
        self.offset = offset


class FastPathFailed(Exception):
    """The columnar reader met something it does not handle; read the file again the slow way."""


class CsvSource:
    """Streaming CSV reader (the C ``csv`` module over a decoding stream) with encoding and
    delimiter detection. Physical line numbers come from ``reader.line_num``."""

    def __init__(self, path: Path, cols: Sequence[Column], *, mode: str, fast: bool = True):
        self.path, self.cols, self.mode, self.fast = Path(path), cols, mode, fast
        self.encoding = ""
        self.delimiter = ""
        self.shape = FileShape()
        self.header_line = 0  # physical line of the header (blank lines before it are skipped)

    def _open(self):
        if self.path.stat().st_size == 0:
            raise Invalid(E.EMPTY_FILE, "文件为空。")
        self.shape = check_line_lengths(self.path, conf.max_line_chars())
        self.encoding = detect_encoding(self.path)
        raw = open(self.path, "rb")  # noqa: SIM115  (closed by the wrapper)
        text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
        return raw, text

    def _rows(self, reader) -> Iterator[tuple[int, list[str]]]:
        """(first physical line, fields) of every non-blank record."""
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise Invalid(
                    E.BROKEN_QUOTES,
                    f"第 {start} 行起引号不匹配或格式错误（{exc}），文件无法继续解析。请检查该行的英文双引号。",
                    {"line": start},
                )
            except UnicodeDecodeError:
                line = locate_decode_error(self.path, self.encoding) or start
                raise Invalid(
                    E.ENCODING,
                    f"第 {line} 行的字符无法按 {self.encoding} 解码：请确认整个文件使用同一种编码（UTF-8 或 GB18030）。",
                    {"line": line},
                )
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            yield start, row

    def _read_header(self, text) -> tuple[Header, Iterator[tuple[int, list[str]]]]:
        try:
            first = ""
            while not first.strip():
                first = text.readline()
                if not first:
                    raise Invalid(E.EMPTY_FILE, "文件为空。")
            text.seek(0)
        except UnicodeDecodeError:
            raise Invalid(E.ENCODING, "文件开头的字符无法解码：请使用 UTF-8 或 GB18030/GBK 编码保存。")
        self.delimiter = _sniff_delimiter(first)
        csv.field_size_limit(max(conf.max_line_chars(), 131072))
        reader = csv.reader(text, delimiter=self.delimiter, strict=True)
        rows = self._rows(reader)
        for line, names in rows:
            self.header_line = line
            return map_header(names, self.cols, mode=self.mode, line=line), rows
        raise Invalid(E.EMPTY_FILE, "文件为空。")

    def header(self) -> Header:
        """The header mapping, after checking there is at least one data row (preflight)."""
        raw, text = self._open()
        with text:
            header, rows = self._read_header(text)
            try:
                for _row in rows:
                    return header
            except Invalid as exc:
                if exc.code != E.BROKEN_QUOTES.value:
                    raise
                return header  # reported with its line by the run
            raise Invalid(E.HEADER_ONLY, "文件只有表头，没有数据行。")

    def batches(self) -> Iterator[Batch]:
        raw, text = self._open()
        with text:
            header, rows = self._read_header(text)
            # the fast reader skips exactly one line for the header: not after blank lines
            if (
                self.fast
                and self.shape.simple
                and self.encoding in ("utf-8", "utf-8-sig")
                and self.header_line == 1
            ):
                yield from self._fast_batches(header, raw)
                return
            width = len(header.columns)
            size = conf.batch_rows()
            keep = [(i, col.column) for i, col in enumerate(header.columns) if col is not None]
            batch_rows: list[list[str]] = []
            batch = Batch(lines=[], values={})
            any_rows = False
            for line, row in rows:
                any_rows = True
                if len(row) != width:
                    batch.rejects.append(
                        (
                            line,
                            "",
                            f"字段数为 {len(row)}，与表头的 {width} 列不一致",
                            self.delimiter.join(row)[:500],
                        )
                    )
                    batch.rejected_lines += 1
                    continue
                batch_rows.append(row)
                batch.lines.append(line)
                if len(batch_rows) >= size:
                    yield self._make(batch, keep, batch_rows, raw)
                    batch_rows, batch = [], Batch(lines=[], values={})
            if not any_rows:
                raise Invalid(E.HEADER_ONLY, "文件只有表头，没有数据行。")
            yield self._make(batch, keep, batch_rows, raw)

    def _fast_batches(self, header: Header, raw) -> Iterator[Batch]:
        """One record per physical line (checked by the byte scan): polars reads each piece of
        whole lines with its own CSV parser, with no Python object per value. A piece whose
        delimiter count is not exactly (width - 1) per line, or that polars finds ragged, is
        split line by line instead, so rows whose field count differs from the header are
        rejected with their line as in the slow path."""
        import polars as pl

        width = len(header.columns)
        keep = [(i, col.column) for i, col in enumerate(header.columns) if col is not None]
        sep = self.delimiter.encode()
        any_rows = False
        next_line = 2  # the header is line 1 (a simple file has no blank lines)
        try:
            for data in _line_chunks(self.path, skip_first=True):
                separators = data.getvalue().count(sep)  # the piece's own bytes (no copy)
                batch, lines = self._piece_whole(data, separators, width, keep, next_line)
                if batch is None:
                    data.seek(0)
                    batch, lines = self._piece_split(data, width, keep, next_line)
                if batch is None:
                    continue
                any_rows = True
                next_line += lines
                batch.bytes_done = data.offset
                batch.plain = self.delimiter == ","  # a simple file has no quote and no bare CR
                yield batch
        except pl.exceptions.PolarsError as exc:
            raise FastPathFailed(str(exc)) from exc
        if not any_rows:
            raise Invalid(E.HEADER_ONLY, "文件只有表头，没有数据行。")

    def _piece_whole(
        self, data, separators: int, width: int, keep, first_line: int
    ) -> tuple[Batch | None, int]:
        """Every line has exactly ``width`` fields: one native CSV parse (no quotes in a simple
        file, so every delimiter separates fields). ``None`` if polars disagrees."""
        import polars as pl

        try:
            part = pl.read_csv(
                data,
                separator=self.delimiter,
                quote_char=None,
                has_header=False,
                infer_schema=False,
                new_columns=[f"f{i}" for i in range(width)],
                encoding="utf8",
            )
        except pl.exceptions.ComputeError:  # a line with more fields than the first
            return None, 0
        lines = part.height  # a simple file has one record per line and no blank line
        if part.width != width or separators != lines * (width - 1):
            return None, 0  # some line has fewer fields (polars fills them with nulls)
        batch = Batch(
            lines=pl.int_range(first_line, first_line + lines, dtype=pl.Int64, eager=True), values={}
        )
        batch.values = {name: part.get_column(f"f{i}") for i, name in keep}
        return batch, lines

    def _piece_split(self, data, width: int, keep, first_line: int) -> tuple[Batch | None, int]:
        """Each line as one text column, split on the delimiter: ragged rows are found."""
        import polars as pl

        part = pl.read_csv(
            data,
            separator="\x1f",
            quote_char=None,
            has_header=False,
            infer_schema=False,
            new_columns=["_raw"],
            encoding="utf8",
        )
        if not part.height:
            return None, 0
        lines = part.height
        part = part.with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + first_line).alias("_line"),
            pl.col("_raw").str.split(self.delimiter).alias("_f"),
        ).with_columns(pl.col("_f").list.len().alias("_n"))
        ragged = part.filter(pl.col("_n") != width)
        part = part.filter(pl.col("_n") == width)
        batch = Batch(lines=part["_line"], values={})
        for line, n, text in ragged.select("_line", "_n", "_raw").iter_rows():
            batch.rejects.append(
                (int(line), "", f"字段数为 {n}，与表头的 {width} 列不一致", (text or "")[:500])
            )
        batch.rejected_lines = ragged.height
        fields = part.select([pl.col("_f").list.get(i, null_on_oob=True).alias(name) for i, name in keep])
        batch.values = {name: fields[name] for name in fields.columns}
        return batch, lines

    @staticmethod
    def _make(batch: Batch, keep, rows, raw) -> Batch:
        columns = list(zip(*rows, strict=True)) if rows else []
        batch.values = {name: list(columns[i]) if rows else [] for i, name in keep}
        batch.bytes_done = raw.tell()
        return batch


# --- JSON Lines ------------------------------------------------------------------------------


class JsonLinesSource:
    """One JSON object per line; keys are data item codes or names."""

    def __init__(self, path: Path, cols: Sequence[Column], *, mode: str):
        self.path, self.cols, self.mode = Path(path), cols, mode
        self.encoding = "utf-8"
        self.delimiter = ""
        self._by_key = {}
        for c in cols:
            self._by_key[c.code.lower()] = c
            self._by_key[c.name.lower()] = c

    def header(self) -> Header:
        for _line, obj in self._objects():
            if isinstance(obj, dict):
                return map_header(list(obj.keys()), self.cols, mode=self.mode)
        raise Invalid(E.HEADER_ONLY, "没有数据行。")

    def _objects(self):
        if self.path.stat().st_size == 0:
            raise Invalid(E.EMPTY_FILE, "文件为空。")
        self.encoding = detect_encoding(self.path)
        with open(self.path, encoding=self.encoding, newline="") as text:
            lines = _GuardedLines(text, conf.max_line_chars())
            for s in lines:
                if not s.strip():
                    continue
                try:
                    yield lines.line, json.loads(s)
                except json.JSONDecodeError as exc:
                    yield lines.line, exc

    def batches(self) -> Iterator[Batch]:
        size = conf.batch_rows()
        batch = Batch(lines=[], values={c.column: [] for c in self.cols})
        any_rows = False
        checked_header = False
        for line, obj in self._objects():
            any_rows = True
            if isinstance(obj, json.JSONDecodeError):
                batch.rejects.append((line, "", f"不是有效的 JSON：{obj.msg}", ""))
                batch.rejected_lines += 1
                continue
            if not isinstance(obj, dict):
                batch.rejects.append((line, "", "每行应为一个 JSON 对象", str(obj)[:500]))
                batch.rejected_lines += 1
                continue
            if not checked_header:
                map_header(list(obj.keys()), self.cols, mode=self.mode, line=line)
                checked_header = True
            row: dict[str, str | None] = {}
            bad = None
            for k, v in obj.items():
                col = self._by_key.get(str(k).strip().lower())
                if col is None:
                    bad = (line, str(k), "未登记的信息项", "")
                    break
                if isinstance(v, dict | list):
                    bad = (
                        line,
                        col.label,
                        "值应为文本、数字或布尔值",
                        json.dumps(v, ensure_ascii=False)[:500],
                    )
                    break
                row[col.column] = (
                    None if v is None else ("true" if v is True else "false" if v is False else str(v))
                )
            if bad:
                batch.rejects.append(bad)
                batch.rejected_lines += 1
                continue
            batch.lines.append(line)
            for c in self.cols:
                batch.values[c.column].append(row.get(c.column))
            if len(batch.lines) >= size:
                yield batch
                batch = Batch(lines=[], values={c.column: [] for c in self.cols})
        if not any_rows:
            raise Invalid(E.HEADER_ONLY, "没有数据行。")
        yield batch


# --- XLSX ------------------------------------------------------------------------------------

_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+\d+:[A-Z]+\d+)"')
_P = r"(?:[\w.-]+:)?"  # an optional namespace prefix (``<x:c>``)
_ENTITIES = (["&lt;", "&gt;", "&quot;", "&apos;", "&amp;"], ["<", ">", '"', "'", "&"])
_XLSX_CHUNK = 2 * 1024 * 1024
_XLSX_MAX_PIECE = 64 * 1024 * 1024  # one row (or the sheet's tail) larger than this is refused
_MAX_COLUMNS = 16384  # XFD, the last column Excel has


def _letters(n: int) -> str:
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _xml_text(expr):
    """Text of an XML fragment: rich-text runs joined, phonetic runs dropped, tags removed,
    the five named entities decoded (numeric ones by ``_numeric_refs``)."""
    return (
        expr.str.replace_all(rf"(?s)<{_P}rPh\b.*?</{_P}rPh>", "")
        .str.replace_all(r"<[^>]*>", "")
        .str.replace_many(*_ENTITIES)
    )


def _numeric_refs(frame, column: str):
    """``&#10;`` and ``&#x4E2D;`` are rare: decode them only in the values that have one."""
    import html

    import polars as pl

    has = frame.select(
        pl.col(column).str.contains("&#", literal=True).fill_null(False).arg_true()
    ).to_series()
    if not has.len():
        return frame
    fixed = pl.Series([html.unescape(v) for v in frame[column].gather(has)], dtype=pl.String)
    return frame.with_columns(frame[column].scatter(has, fixed))


def _decode_refs(text):
    """Numeric character references (``&#24352;``: some writers store every Chinese character
    so) decoded in a whole piece at once: the distinct references are looked up once, then
    replaced with one multi-pattern pass. References to ``<``, ``&``, quotes and control
    characters are left for ``_numeric_refs`` so the XML keeps its shape."""
    import polars as pl

    refs = text.str.extract_all(r"&#(?:x[0-9a-fA-F]+|[0-9]+);").explode().drop_nulls().unique()
    keys, values = [], []
    for ref in refs:
        try:
            cp = int(ref[3:-1], 16) if ref[2] == "x" else int(ref[2:-1])
            ch = chr(cp)
        except (ValueError, OverflowError):
            continue
        if ch in "<>&\"'" or (cp < 0x20 and ch not in "\t\n\r") or 0xD800 <= cp <= 0xDFFF:
            continue
        keys.append(ref)
        values.append(ch)
    if not keys:
        return text
    return text.str.replace_many(keys, values).cast(pl.String)


class XlsxSource:
    """First or named worksheet of an XLSX, streamed: the sheet's XML is decompressed in pieces
    of whole rows and parsed with polars expressions (no Python object per cell, memory bounded
    by the piece); shared strings are one Arrow string column. Formulas, merged cells, zip
    bombs and sheets that are not there are refused as before."""

    def __init__(self, path: Path, cols: Sequence[Column], *, mode: str, sheet: str = ""):
        self.path, self.cols, self.mode, self.sheet = Path(path), cols, mode, sheet
        self.encoding = ""
        self.delimiter = ""
        self._refs = {_letters(i): i for i in range(_MAX_COLUMNS)}
        self._refuse_formulas = True  # the run refuses them with the cell; the preflight does not look

    def _check_zip(self) -> None:
        if self.path.stat().st_size == 0:
            raise Invalid(E.EMPTY_FILE, "文件为空。")
        if not zipfile.is_zipfile(self.path):
            raise Invalid(E.BAD_FORMAT, "文件不是有效的 XLSX（Excel 2007 及以上）文件。")
        total = 0
        with zipfile.ZipFile(self.path) as z:
            for info in z.infolist():
                total += info.file_size
                ratio = info.file_size / max(info.compress_size, 1)
                if (info.file_size > 10 * 1024 * 1024 and ratio > conf.xlsx_max_ratio()) or (
                    total > conf.xlsx_max_uncompressed_bytes()
                ):
                    raise Invalid(
                        E.XLSX_BOMB,
                        "XLSX 文件解压后的大小异常（疑似压缩炸弹），已拒绝处理。",
                        {"member": info.filename[:100]},
                    )

    @staticmethod
    def _bad(detail: str = "") -> Invalid:
        return Invalid(
            E.BAD_FORMAT, "无法读取 XLSX 文件：文件已损坏或不是 Excel 工作簿。", {"detail": detail[:200]}
        )

    def _parts(self, z: zipfile.ZipFile) -> tuple[str, str]:
        """(worksheet part, shared strings part or "") from the workbook and its relationships."""
        import posixpath
        import xml.etree.ElementTree as ET

        try:
            # Two small parts; expat (2.4+) refuses entity expansion attacks and never fetches
            # external entities.
            book = ET.fromstring(z.read("xl/workbook.xml"))  # noqa: S314
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
        except (KeyError, ET.ParseError) as exc:
            raise self._bad(str(exc))
        targets, shared = {}, ""
        for rel in rels:
            target = rel.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
            targets[rel.get("Id")] = target
            if rel.get("Type", "").endswith("/sharedStrings"):
                shared = target
        sheets = [
            (
                el.get("name", ""),
                el.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"),
            )
            for el in book.iter()
            if el.tag.rsplit("}", 1)[-1] == "sheet"
        ]
        if not sheets:
            raise self._bad("no sheet")
        if self.sheet:
            found = [rid for name, rid in sheets if name == self.sheet]
            if not found:
                raise Invalid(
                    E.XLSX_SHEET,
                    f"工作簿中没有名为“{self.sheet}”的工作表。",
                    {"sheets": [name for name, _ in sheets]},
                )
            rid = found[0]
        else:
            rid = sheets[0][1]
        part = targets.get(rid, "")
        if part not in z.namelist():
            raise self._bad("sheet part missing")
        return part, shared if shared in z.namelist() else ""

    def _open(self) -> tuple[zipfile.ZipFile, str, str]:
        self._check_zip()
        z = zipfile.ZipFile(self.path)
        try:
            part, shared = self._parts(z)
        except BaseException:
            z.close()
            raise
        return z, part, shared

    @staticmethod
    def _merged(text: bytes) -> None:
        m = _MERGE_RE.search(text)
        if m:
            raise Invalid(
                E.XLSX_MERGED,
                f"工作表含有合并单元格（{m.group(1).decode()}），请取消合并并在每个单元格填入值后重新上传。",
                {"range": m.group(1).decode()},
            )

    def _check_merged(self, z: zipfile.ZipFile, part: str) -> None:
        """Merged cells break the one-value-per-cell table shape: scan the sheet's XML (streamed)
        for ``<mergeCell>`` before accepting the upload."""
        tail = b""
        with z.open(part) as f:
            while chunk := f.read(1024 * 1024):
                self._merged(tail + chunk)
                tail = chunk[-100:]

    @staticmethod
    def _pieces(f, tag: bytes) -> Iterator[tuple[bytes, bool]]:
        """Pieces of the XML stream that end at a ``tag`` (end of a row or shared string); the
        last piece is the rest, flagged True."""
        rest = b""
        while True:
            block = f.read(_XLSX_CHUNK)
            data = rest + block
            if not block:
                yield data, True
                return
            cut = data.rfind(tag)
            if cut < 0:
                if len(data) > _XLSX_MAX_PIECE:
                    raise Invalid(
                        E.LINE_TOO_LONG,
                        f"工作表中有一行超过 {_XLSX_MAX_PIECE // (1024 * 1024)} MB，无法处理（文件可能已损坏）。",
                        {"limit": _XLSX_MAX_PIECE},
                    )
                rest = data
                continue
            cut += len(tag)
            rest = data[cut:]
            yield data[:cut], False

    def _shared_strings(self, z: zipfile.ZipFile, part: str):
        import polars as pl

        if not part:
            return pl.Series("s", [], dtype=pl.String)
        chunks = []
        with z.open(part) as f:
            for data, _last in self._pieces(f, b"</si>"):
                if b"<si" not in data and b":si" not in data:
                    continue
                text = pl.Series("x", [data], dtype=pl.Binary).cast(pl.String)
                if b"&#" in data:
                    text = _decode_refs(text)
                # ``<si><t>x</t></si>`` by literal prefix and suffix, other shapes (rich text,
                # xml:space, phonetic runs) by regular expressions.
                si = (
                    pl.DataFrame({"x": text})
                    .select(
                        pl.col("x").str.extract_all(rf"(?s)<{_P}si\b[^>]*?/>|<{_P}si\b[^>]*>.*?</{_P}si>")
                    )
                    .explode("x")
                    .drop_nulls()
                )
                fast = pl.col("x").str.strip_prefix("<si><t>").str.strip_suffix("</t></si>")
                frame = si.select(
                    pl.when(~fast.str.contains("<", literal=True))
                    .then(fast.str.replace_many(*_ENTITIES))
                    .otherwise(_xml_text(pl.col("x")))
                    .alias("s")
                )
                chunks.append(_numeric_refs(frame, "s")["s"])
        return pl.concat(chunks, rechunk=True) if chunks else pl.Series("s", [], dtype=pl.String)

    def _cells(self, text, shared, first_line: int):
        """Rows of one piece as a long frame: line, column index, numeric cell?, value text."""
        import polars as pl

        rows = (
            pl.DataFrame({"x": text})
            .select(pl.col("x").str.split(self._row_end))
            .explode("x")
            .filter(pl.col("x").str.contains(rf"<{_P}row\b"))
        )
        if not rows.height:
            return None, first_line
        r = pl.col("x").str.extract(rf"<{_P}row\b[^>]*?\sr=\"(\d+)\"").cast(pl.Int64)
        rows = rows.with_columns(r.alias("r"))
        group = pl.col("r").is_not_null().cum_sum()
        offset = pl.int_range(pl.len(), dtype=pl.Int64).over(group)
        rows = rows.with_columns(
            pl.when(group == 0)
            .then(first_line + offset + 1)
            .otherwise(pl.col("r").forward_fill() + offset)
            .alias("line")
        )
        last_line = int(rows["line"][-1])
        # Cells: split on the cell start tag (literal, one pass); the first piece of a row is
        # the row's own start tag. A piece is ``attributes>body</c>`` or ``attributes/>``.
        pre = self._prefix
        cells = (
            rows.select("line", pl.col("x").str.replace_all(f"<{pre}c>", f"<{pre}c >", literal=True))
            .select("line", pl.col("x").str.split(f"<{pre}c ").list.slice(1).alias("c"))
            .explode("c")
            .drop_nulls("c")
        )
        close = pl.col("c").str.find(">", literal=True)
        attrs = pl.col("c").str.slice(0, close)
        body = pl.col("c").str.slice(close + 1).str.strip_suffix(f"</{pre}c>")
        cells = cells.with_columns(attrs.alias("a"), body.alias("b")).with_columns(
            pl.coalesce(
                pl.col("a")
                .str.extract(r'(?:^|\s)r="([A-Z]+)')
                .replace_strict(self._refs, default=None, return_dtype=pl.Int64),
                pl.int_range(pl.len(), dtype=pl.Int64).over("line"),
            ).alias("ci"),
            pl.col("a").str.extract(r'(?:^|\s)t="(\w+)"').fill_null("n").alias("t"),
            pl.col("b").str.contains(f"<{pre}f", literal=True).alias("f"),
        )
        formula = cells.filter(pl.col("f")) if self._refuse_formulas else cells.clear()
        if formula.height:
            formula = formula.filter(pl.col("b").str.contains(rf"<{_P}f[\s>/]"))
        if formula.height:
            ci, line = formula["ci"][0], formula["line"][0]
            ref_text = f"{_letters(int(ci))}{int(line)}"
            raise Invalid(
                E.XLSX_FORMULA,
                f"工作表含有公式（如 {ref_text}），平台不计算公式：请复制后“只粘贴数值”再上传。",
                {"cell": ref_text},
            )
        # The usual shapes ``<v>x</v>`` and ``<is><t>x</t></is>`` by literal prefix and suffix;
        # anything else (rich text, xml:space, phonetic runs) by the slower regular expressions.
        b_ = pl.col("b")
        v_fast = b_.str.strip_prefix(f"<{pre}v>").str.strip_suffix(f"</{pre}v>")
        is_fast = b_.str.strip_prefix(f"<{pre}is><{pre}t>").str.strip_suffix(f"</{pre}t></{pre}is>")
        cells = cells.with_columns(
            pl.when(~v_fast.str.contains("<", literal=True))
            .then(v_fast)
            .otherwise(b_.str.extract(rf"(?s)<{_P}v>(.*?)</{_P}v>"))
            .alias("v"),
            pl.when(pl.col("t") != "inlineStr")
            .then(None)
            .when(~is_fast.str.contains("<", literal=True))
            .then(is_fast.str.replace_many(*_ENTITIES))
            .otherwise(_xml_text(b_.str.extract(rf"(?s)<{_P}is>(.*?)</{_P}is>")))
            .alias("is"),
        )
        v = pl.col("v").str.replace_many(*_ENTITIES)
        t = pl.col("t")
        num = pl.col("v").str.strip_chars()
        as_float = num.cast(pl.Float64, strict=False)
        number = (
            pl.when(num.str.contains(r"^-?\d+$"))
            .then(num)
            .when(num.str.contains(r"^-?\d+\.0+$"))
            .then(num.str.replace(r"\.0+$", ""))
            .when(num.str.contains("[eE]") & as_float.is_not_null())
            .then(
                pl.when(as_float == as_float.round(0))
                .then(
                    pl.coalesce(
                        as_float.cast(pl.Int64, strict=False).cast(pl.String), as_float.cast(pl.String)
                    )
                )
                .otherwise(as_float.cast(pl.String))
            )
            .otherwise(num)
        )
        value = (
            pl.when(t == "s")
            .then(
                pl.lit(shared).gather(
                    pl.when(t == "s").then(pl.col("v").str.strip_chars().cast(pl.Int64, strict=False))
                )
            )
            .when(t == "inlineStr")
            .then(pl.col("is"))
            .when(t == "b")
            .then(
                pl.when(pl.col("v").str.strip_chars() == "1").then(pl.lit("true")).otherwise(pl.lit("false"))
            )
            .when(t.is_in(["str", "e", "d"]))
            .then(v)
            .otherwise(number)
        )
        try:
            cells = cells.select("line", "ci", (t == "n").alias("num"), value.alias("text"))
        except pl.exceptions.PolarsError as exc:  # e.g. a shared string index out of range
            raise self._bad(str(exc))
        return _numeric_refs(cells, "text"), last_line

    def _stream(self, z: zipfile.ZipFile, part: str, shared_part: str):
        """Long frames of cells, piece by piece; refuses merged cells found after the rows."""
        import polars as pl

        shared = self._shared_strings(z, shared_part)
        line = 0
        with z.open(part) as f:
            head = f.read(64 * 1024)
            m = re.search(rb"<([\w.-]+:)?sheetData\b", head)
            if m is None:
                # A very long preamble: read on until the rows start (bounded by the XML size).
                while m is None:
                    more = f.read(1024 * 1024)
                    if not more:
                        return
                    head += more
                    m = re.search(rb"<([\w.-]+:)?sheetData\b", head)
            prefix = m.group(1) or b""
            self._prefix = prefix.decode()
            self._row_end = "</" + prefix.decode() + "row>"
            end = b"</" + prefix + b"row>"
            stream = _Prefixed(head[m.start() :], f)
            for data, last in self._pieces(stream, end):
                if last:
                    self._merged(data)
                text = pl.Series("x", [data], dtype=pl.Binary)
                try:
                    text = text.cast(pl.String)
                except pl.exceptions.PolarsError as exc:
                    raise self._bad(str(exc))
                if b"&#" in data:
                    text = _decode_refs(text)
                del data
                cells, line = self._cells(text, shared, line)
                if cells is not None:
                    yield cells

    def _header_from(self, cells) -> tuple[Header, int, object]:
        """The first row with a value is the header: (mapping, its line, the rest of the frame)."""
        import polars as pl

        filled = cells.filter(pl.col("text").str.strip_chars().str.len_chars() > 0)
        if not filled.height:
            return None, 0, None
        line = int(filled["line"][0])
        row = cells.filter(pl.col("line") == line)
        width = int(filled.filter(pl.col("line") == line)["ci"].max()) + 1
        names = [""] * width
        for ci, text in row.select("ci", "text").iter_rows():
            if ci < width and text is not None:
                names[ci] = text
        header = map_header(names, self.cols, mode=self.mode, line=line)
        return header, line, cells.filter(pl.col("line") > line)

    def _rows_after_header(self):
        """(header, header line, iterator of long frames of the data rows)."""
        z, part, shared = self._open()
        try:
            stream = self._stream(z, part, shared)
            for cells in stream:
                header, line, rest = self._header_from(cells)
                if header is None:
                    continue

                def rows(first=rest, stream=stream):
                    try:
                        if first.height:
                            yield first
                        yield from stream
                    finally:
                        z.close()

                return header, line, rows()
        except BaseException:
            z.close()
            raise
        z.close()
        raise Invalid(E.EMPTY_FILE, "工作表为空。")

    def header(self) -> Header:
        """The header mapping, after checking there is at least one data row and no merged
        cells (preflight)."""
        import polars as pl

        z, part, _shared = self._open()
        try:
            self._check_merged(z, part)
        finally:
            z.close()
        self._refuse_formulas = False
        try:
            header, _line, rows = self._rows_after_header()
            try:
                for cells in rows:
                    if cells.filter(pl.col("text").str.strip_chars().str.len_chars() > 0).height:
                        return header
            finally:
                rows.close()
        finally:
            self._refuse_formulas = True
        raise Invalid(E.HEADER_ONLY, "工作表只有表头，没有数据行。")

    def batches(self) -> Iterator[Batch]:
        import polars as pl

        header, _line, rows = self._rows_after_header()
        width = len(header.columns)
        keep = [(i, col.column) for i, col in enumerate(header.columns) if col is not None]
        any_rows = False
        # Smaller batches than CSV: a sheet's rows are parsed from XML about five times their
        # size, and peak memory grows with the rows in flight (issue 6: < 300 MB for 1 M rows).
        size = min(conf.batch_rows(), 5_000)
        parts: list = []
        rejects: list = []

        def flush() -> Batch:
            wide = pl.concat(parts) if len(parts) > 1 else parts[0]
            batch = Batch(lines=wide["line"], values={name: wide[name] for _i, name in keep})
            batch.rejects, batch.rejected_lines = list(rejects), len(rejects)
            parts.clear()
            rejects.clear()
            return batch

        try:
            for cells in rows:
                blank = pl.col("text").is_null() | (pl.col("text").str.strip_chars().str.len_chars() == 0)
                filled = cells.filter(~blank)
                if not filled.height:
                    continue
                any_rows = True
                extra = filled.filter(pl.col("ci") >= width).group_by("line").len().sort("line")
                for line, n in extra.iter_rows():
                    rejects.append((int(line), "", f"表头之外的列有值（{n} 个单元格）", ""))
                wide = filled.select(pl.col("line").unique(maintain_order=True))
                if extra.height:
                    wide = wide.filter(~pl.col("line").is_in(extra["line"].implode()))
                inside = filled.filter(pl.col("ci") < width)  # an empty cell is null
                for i, name in keep:
                    text = pl.col("text")
                    kind = header.columns[i].data_type
                    if kind in ("date", "datetime"):
                        text = pl.when(pl.col("num")).then(_serial_date(text, kind)).otherwise(text)
                    one = (
                        inside.filter(pl.col("ci") == i)
                        .unique("line", keep="first")
                        .select("line", text.alias(name))
                    )
                    wide = wide.join(one, on="line", how="left", maintain_order="left")
                parts.append(wide)
                if sum(p.height for p in parts) >= size:
                    yield flush()
            if parts or rejects:
                if not parts:
                    parts.append(
                        pl.DataFrame({"line": []}, schema={"line": pl.Int64}).with_columns(
                            [pl.lit(None, dtype=pl.String).alias(name) for _i, name in keep]
                        )
                    )
                yield flush()
        finally:
            rows.close()
        if not any_rows:
            raise Invalid(E.HEADER_ONLY, "工作表只有表头，没有数据行。")


def _serial_date(text, kind: str):
    """A date typed as a number: Excel serial, 1900 date system (serials below 60 are one day
    off, because Excel counts a 29 February 1900 that never was). A date column gets the date
    when the time is midnight, else the date and time (which validation then refuses)."""
    import polars as pl

    serial = text.cast(pl.Float64, strict=False)
    ms = (serial * 86_400_000).round(0).cast(pl.Int64, strict=False)
    base = pl.when(serial < 60).then(pl.lit(-2209075200000)).otherwise(pl.lit(-2209161600000))
    stamp = (base + ms).cast(pl.Datetime("ms"))
    full = stamp.dt.strftime("%Y-%m-%d %H:%M:%S")
    if kind == "date":
        full = pl.when(ms % 86_400_000 == 0).then(stamp.dt.strftime("%Y-%m-%d")).otherwise(full)
    return pl.when(serial >= 0).then(full).otherwise(text)


class _Prefixed(io.RawIOBase):
    """A stream that first returns ``head`` and then reads on from ``f``."""

    def __init__(self, head: bytes, f):
        self.head, self.f = head, f

    def read(self, n: int = -1) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out + self.f.read(max(n - len(out), 0)) if n > len(out) else out
        return self.f.read(n)


def open_source(
    *, source: str, path: Path, cols: Sequence[Column], mode: str, sheet: str = "", fast: bool = True
):
    if source == "xlsx":
        return XlsxSource(path, cols, mode=mode, sheet=sheet)
    if source in ("jsonl", "api"):
        return JsonLinesSource(path, cols, mode=mode)
    return CsvSource(path, cols, mode=mode, fast=fast)
