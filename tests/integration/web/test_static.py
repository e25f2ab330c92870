"""The vendored front-end files are the pinned ones, with their licences, and are served."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

VENDOR = Path(__file__).resolve().parents[3] / "src/regulars/entrypoints/web/static/vendor"


def _pins() -> dict[str, str]:
    text = (VENDOR / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", text, re.M))


def test_every_vendored_file_is_pinned_and_has_its_licence():
    pins = _pins()
    assert len(pins) == 4
    for name, digest in pins.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert (VENDOR / "htmx/LICENSE").read_text().startswith("Zero-Clause BSD")
    assert "Apache License" in (VENDOR / "swagger-ui/LICENSE").read_text()
    assert 'version:"2.0.11"' in (VENDOR / "htmx/htmx.min.js").read_text()


@pytest.mark.parametrize("name", ["htmx/htmx.min.js", "swagger-ui/swagger-ui-bundle.js",
                                  "swagger-ui/swagger-ui.css"])
def test_the_files_are_served_from_static(browser, name):
    r = browser().get(f"/static/vendor/{name}")
    assert r.status_code == 200
    assert r.content == (VENDOR / name).read_bytes()
