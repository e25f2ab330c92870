"""How the CLI writes its files: whole or not at all."""

from __future__ import annotations

import pytest

from regulars.entrypoints.cli.main import replacing


def test_a_finished_write_replaces_the_file(tmp_path):
    target = tmp_path / "map.csv"
    target.write_text("old", encoding="utf-8")
    with replacing(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_text("new", encoding="utf-8")
        assert target.read_text(encoding="utf-8") == "old"  # not before it is whole
    assert target.read_text(encoding="utf-8") == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["map.csv"]


def test_a_failed_write_leaves_the_earlier_file_and_no_scraps(tmp_path):
    target = tmp_path / "map.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(OSError), replacing(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise OSError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["map.csv"]


def test_a_failed_first_write_leaves_nothing(tmp_path):
    target = tmp_path / "report.html"
    with pytest.raises(OSError), replacing(target) as tmp:
        tmp.write_text("<html>", encoding="utf-8")
        raise OSError("disk full")
    assert list(tmp_path.iterdir()) == []
