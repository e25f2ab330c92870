"""`regulars demo` through the console script."""

from __future__ import annotations


def test_a_demo_over_a_store_holding_other_data_says_how_to_run_it(regulars, tmp_path):
    first = regulars(tmp_path, "demo", "--customers", "60", "--seed", "1")
    assert first.returncode == 0, first.stderr
    # another seed is another business under the same ids: the store refuses it
    second = regulars(tmp_path, "demo", "--customers", "60", "--seed", "2")
    assert second.returncode == 1
    assert "already in the store with different content" in second.stderr
    assert "already holds other data under the demo's ids" in second.stderr
    assert "--database-url sqlite:///demo.db" in second.stderr
    # and on an empty store the same demo runs
    third = regulars(tmp_path, "demo", "--customers", "60", "--seed", "2",
                     "--database-url", f"sqlite:///{tmp_path / 'demo.db'}")
    assert third.returncode == 0, third.stderr
