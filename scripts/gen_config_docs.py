"""Regenerate the settings reference in docs/configuration.md from the code.

    python scripts/gen_config_docs.py          # rewrite the block between the markers
    python scripts/gen_config_docs.py --check  # exit 1 when the block is out of date

The block lists every setting with its default, environment variable and description, read
from ``regulars.config`` (and, for ``[analysis]``, from the docstrings of ``MapParams``), so the
reference cannot drift from the code: ``tests/unit/test_docs.py`` fails when it does.
"""

from __future__ import annotations

import argparse
import json
import sys
from itertools import groupby
from pathlib import Path
from typing import Any

from regulars.config import env_var_name, settings_reference

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
BEGIN = "<!-- BEGIN GENERATED: settings reference (scripts/gen_config_docs.py) -->"
END = "<!-- END GENERATED: settings reference -->"


def render_reference() -> str:
    """The generated Markdown: one table per TOML table, every setting in code order."""
    out: list[str] = []
    for section, values in groupby(settings_reference(), key=lambda v: v.key.rpartition(".")[0]):
        title = f"`[{section}]`" if section else "Top level"
        out += [f"### {title}", ""]
        out += ["| key | default | environment variable | description |", "|---|---|---|---|"]
        for v in values:
            out.append(
                f"| `{v.key}` | {_default(v.default)} | `{env_var_name(v.key)}` | {_cell(v.doc)} |"
            )
        out.append("")
    return "\n".join(out)


def update(text: str) -> str:
    """``text`` with the block between the markers replaced by a fresh reference."""
    try:
        head, rest = text.split(BEGIN, 1)
        _old, tail = rest.split(END, 1)
    except ValueError:
        raise SystemExit(f"{DOC}: the markers {BEGIN!r} and {END!r} are missing") from None
    return f"{head}{BEGIN}\n\n{render_reference()}\n{END}{tail}"


def _default(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"`{value!r}`"
    return f"`{json.dumps(str(value), ensure_ascii=False)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", r"\|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check, exit 1 if stale")
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8")
    fresh = update(current)
    if args.check:
        if fresh != current:
            print(f"{DOC} is out of date: run python scripts/gen_config_docs.py", file=sys.stderr)
            return 1
        return 0
    if fresh != current:
        DOC.write_text(fresh, encoding="utf-8")
        print(f"updated {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
