"""Content types and Content-Disposition for served artifacts.

MLflow's rules for the type (``mlflow/utils/mime_type_utils.py``, re-implemented): names with a
known text extension (and the names MLmodel and mlproject) are ``text/plain``, others by ``mimetypes``,
unknown ones ``application/octet-stream``. On top of that, nothing is ever served as active
content on the server's origin: HTML-like types become ``text/plain``; SVG keeps its type (so
the UI can show it in an ``<img>``) but, like every artifact, is sent as an attachment with a
sandboxing Content-Security-Policy and ``nosniff``.
"""

from __future__ import annotations

import mimetypes
import posixpath
import unicodedata
from urllib.parse import quote

# MLflow's get_text_extensions(): these extensions, and the extension-less names MLmodel and
# mlproject (MLflow's MLPROJECT_FILE_NAME is lower case, so "MLproject" is not in its list).
_TEXT_EXTENSIONS = frozenset(
    {
        "txt",
        "log",
        "err",
        "cfg",
        "conf",
        "cnf",
        "cf",
        "ini",
        "properties",
        "prop",
        "hocon",
        "toml",
        "yaml",
        "yml",
        "xml",
        "json",
        "js",
        "py",
        "py3",
        "csv",
        "tsv",
        "md",
        "rst",
        "ipynb",
        "MLmodel",
        "mlproject",
    }
)

# Types a browser would run script in if it navigated to them.
_ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "text/xml",
        "application/xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "text/ecmascript",
        "application/ecmascript",
        "text/xsl",
        "application/xslt+xml",
        "multipart/x-mixed-replace",
        "application/x-shockwave-flash",
        "text/vnd.wap.wml",
    }
)

# Applied to every artifact response: no script, no plugins, no forms, no same-origin access.
ARTIFACT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


def guess_content_type(name: str) -> str:
    filename = posixpath.basename(name)
    ext = posixpath.splitext(filename)[1].lstrip(".") or filename
    if ext in _TEXT_EXTENSIONS:
        return "text/plain"
    mime, _ = mimetypes.guess_type(filename, strict=False)
    if not mime:
        return "application/octet-stream"
    if mime in _ACTIVE_TYPES or (mime.endswith("+xml") and mime != "image/svg+xml"):
        return "text/plain"
    return mime


# Dropped from a served file name: control characters (Cc), format characters (Cf: the bidi
# overrides U+202A..U+202E and isolates U+2066..U+2069 that reverse how a name reads, zero-width
# characters), line and paragraph separators.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Characters that would end or escape a quoted value, replaced rather than escaped.
_REPLACED = {'"': "_", "\\": "_"}


def safe_filename(filename: str) -> str:
    """The name to offer in Content-Disposition: without control, format (bidi) and separator
    characters, quotes and backslashes; "download" when nothing is left."""
    kept = "".join(_REPLACED.get(c, c) for c in filename if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    return kept.strip() or "download"


def content_disposition(filename: str) -> str:
    """RFC 6266 ``attachment`` with the sanitized name: ``filename`` as an ASCII fallback and, for a
    non-ASCII name, RFC 5987 ``filename*=UTF-8''...`` (percent-encoded)."""
    name = safe_filename(filename)
    if name.isascii():
        return f"attachment; filename={_quote_value(name)}"
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = safe_filename(fallback)
    return f"attachment; filename={_quote_value(fallback)}; filename*=UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"


_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _quote_value(value: str) -> str:
    """A token as it is, anything else (spaces, ';', ',') as a quoted string; the value holds no
    quote or backslash by then."""
    if all(c in _TOKEN_CHARS for c in value):
        return value
    return f'"{value}"'
