"""Writing a demo business to disk: one file per table, streamed, reproducible, never half done."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from regulars.demo import SCHEMAS, DemoSpec, generate_business
from regulars.demo.files import OutputExistsError, write_demo
from regulars.domain.errors import RegularsError
from regulars.domain.tables import IMPORT_ORDER, SPECS

SPEC = DemoSpec(customers=600, seed=11, chunk_customers=250)  # three chunks
TABLES = [kind.value for kind in IMPORT_ORDER] + ["truth"]


def digests(paths: dict[str, Path]) -> dict[str, str]:
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in paths.items()}


def test_writes_one_csv_per_table_and_the_truth(tmp_path: Path) -> None:
    paths = write_demo(tmp_path / "demo", SPEC)
    assert list(paths) == TABLES
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == sorted(
        f"{name}.csv" for name in TABLES
    )
    for kind in IMPORT_ORDER:
        with paths[kind.value].open(newline="", encoding="utf-8") as f:
            header = next(csv.reader(f))
        assert tuple(header) == SPECS[kind].names


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        first = write_demo(tmp_path / f"a-{fmt}", SPEC, fmt=fmt)
        second = write_demo(tmp_path / f"b-{fmt}", SPEC, fmt=fmt)
        assert digests(first) == digests(second)


def test_csv_holds_iso_timestamps_to_the_second_and_money_in_cents(tmp_path: Path) -> None:
    paths = write_demo(tmp_path, SPEC)
    with paths["orders"].open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", r["ordered_at"]) for r in rows)
    assert all(re.fullmatch(r"\d+\.\d\d", r["amount"]) for r in rows)
    with paths["customers"].open(newline="", encoding="utf-8") as f:
        customers = list(csv.DictReader(f))
    assert {r["do_not_contact"] for r in customers} <= {"true", "false"}
    assert all(re.fullmatch(r"(\d{4}-\d\d-\d\d)?", r["birthday"]) for r in customers)


def test_csv_files_read_back_as_the_generated_tables(tmp_path: Path) -> None:
    paths = write_demo(tmp_path, SPEC)
    tables = generate_business(SPEC)
    for name in TABLES:
        schema = SCHEMAS[name]
        options = pa_csv.ConvertOptions(column_types=schema, strings_can_be_null=True)
        back = pa_csv.read_csv(paths[name], convert_options=options)
        assert back.num_rows == tables[name].num_rows
        assert back.select(schema.names).cast(schema).equals(tables[name]), name


def test_parquet_files_hold_exactly_the_generated_tables(tmp_path: Path) -> None:
    paths = write_demo(tmp_path, SPEC, fmt="parquet")
    tables = generate_business(SPEC)
    assert [p.suffix for p in paths.values()] == [".parquet"] * len(TABLES)
    for name in TABLES:
        assert pq.read_table(paths[name]).equals(tables[name]), name


def test_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="not empty") as caught:
        write_demo(tmp_path, SPEC)
    assert isinstance(caught.value, RegularsError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_refuses_a_file_as_the_directory(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(OutputExistsError, match="not a directory"):
        write_demo(target, SPEC)


def test_overwrite_replaces_the_demo_files_and_leaves_others_alone(tmp_path: Path) -> None:
    write_demo(tmp_path, SPEC, fmt="parquet")
    (tmp_path / "notes.txt").write_text("mine")
    paths = write_demo(tmp_path, DemoSpec(customers=300, seed=1), overwrite=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([*(f"{n}.csv" for n in TABLES), "notes.txt"])
    assert pa_csv.read_csv(paths["truth"]).num_rows >= 300


def test_progress_counts_customers_chunk_by_chunk(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    write_demo(tmp_path, SPEC, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(250, 600), (500, 600), (600, 600)]


def test_an_interrupted_run_leaves_no_files_behind(tmp_path: Path) -> None:
    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_demo(tmp_path / "out", SPEC, progress=stop)
    assert list((tmp_path / "out").iterdir()) == []


def test_tables_stream_in_chunks_of_the_same_schema(tmp_path: Path) -> None:
    paths = write_demo(tmp_path, SPEC, fmt="parquet")
    meta = pq.ParquetFile(paths["orders"]).metadata
    assert meta.num_row_groups == SPEC.chunks
    assert pq.read_schema(paths["orders"]) == SCHEMAS["orders"].remove_metadata()
    assert pa.types.is_timestamp(pq.read_schema(paths["orders"]).field("ordered_at").type)
