"""``regulars serve --workers N`` hands its request processes the settings it resolved: the
file it writes reads back as the same values, whatever the child's own environment says."""

from __future__ import annotations

from regulars.config import load_settings
from regulars.entrypoints.http.app import read_settings, write_settings


def test_the_children_read_exactly_the_settings_the_parent_resolved(tmp_path, monkeypatch):
    config = tmp_path / "shop.toml"
    config.write_text('currency = "USD"\n[api]\nworkers = 3\nrate_limit = 7.5\n'
                      '[analysis]\nregular_min_orders = 4\n', encoding="utf-8")
    parent = load_settings(config, database_url="sqlite:////data/shop.db")
    file = tmp_path / "settings.json"
    write_settings(parent, file)
    # a child started elsewhere, with a variable that would change a value if it were read
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.setenv("REGULARS_API__RATE_LIMIT", "999")
    monkeypatch.setenv("REGULARS_DATABASE_URL", "sqlite:///other.db")
    child = read_settings(file)
    assert child.model_dump() == parent.model_dump()
    assert (child.database_url, child.currency, child.api.workers, child.api.rate_limit,
            child.analysis.regular_min_orders) == ("sqlite:////data/shop.db", "USD", 3, 7.5, 4)
