"""The server itself serves the UI bundle: index.html at <prefix>/, hashed assets with long caching."""

from __future__ import annotations

import re
import urllib.request

import pytest
from ui_support import _get


@pytest.mark.parametrize("which", ["ui_server", "ui_server_prefix"])
def test_index_and_hashed_assets(request, which):
    server = request.getfixturevalue(which)
    status, headers, body = _get(server.api + "/")
    assert status == 200 and b'<div id="app">' in body
    assert "no-cache" in headers.get("Cache-Control", "")
    assets = re.findall(rb'(?:src|href)="\./(static-files/[^"]+)"', body)
    assert assets, body[:500]
    for a in assets:
        status, headers, payload = _get(f"{server.api}/{a.decode()}")
        assert status == 200 and payload
        assert "max-age=31536000" in headers.get("Cache-Control", "")
    assert _get(f"{server.api}/static-files/../../../etc/passwd")[0] == 404


def test_prefix_without_trailing_slash_redirects(ui_server_prefix):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(ui_server_prefix.api, timeout=5)
        raise AssertionError("expected a redirect")
    except urllib.error.HTTPError as e:
        assert e.code in (301, 302, 307, 308)
        assert e.headers["Location"].endswith("/p/")
