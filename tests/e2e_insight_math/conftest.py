"""The insight-view browser tests run on the shared trained runs and server (tests/conftest.py);
their pages are 1400 × 900, open paths on that server, and must not ask anything of another host
(KaTeX fonts and CSS are bundled: the views work offline)."""

from __future__ import annotations

from typing import Any

import pytest

from ..browser import Server


@pytest.fixture
def page_options(server: Server) -> dict[str, Any]:
    return {"viewport": {"width": 1400, "height": 900}, "base_url": server.url, "local_only": True}
