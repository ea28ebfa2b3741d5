"""Content types and Content-Disposition for served artifacts.

MLflow's rules for the type (``mlflow/utils/mime_type_utils.py``, re-implemented): names with a
known text extension (and MLmodel/MLproject) are ``text/plain``, others by ``mimetypes``,
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

_TEXT_EXTENSIONS = frozenset(
    [
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
    ]
) | {"MLmodel", "MLproject"}

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


def content_disposition(filename: str) -> str:
    """RFC 6266 ``attachment`` with an ASCII fallback and RFC 5987 ``filename*`` when needed."""
    filename = filename.replace("\r", "").replace("\n", "") or "download"
    try:
        filename.encode("ascii")
        ascii_ok = True
    except UnicodeEncodeError:
        ascii_ok = False
    if ascii_ok:
        return f"attachment; filename={_quote_value(filename)}"
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii") or "download"
    return f"attachment; filename={_quote_value(fallback)}; filename*=UTF-8''{quote(filename, safe='!#$&+-.^_`|~')}"


_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _quote_value(value: str) -> str:
    if value and all(c in _TOKEN_CHARS for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
