"""The demo generator: deterministic, every channel's quirks present, truth that matches the files."""

import hashlib
from pathlib import Path

import polars as pl
import pytest

from pipeline.demo.generator import DemoSpec, generate


def digest(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix != ".xlsx"  # xlsx embeds a creation timestamp
    }


def test_same_seed_same_files_whatever_the_threads_other_seed_other_files(tmp_path):
    spec = DemoSpec(customers=150, seed=3)
    generate(tmp_path / "a", spec, progress=lambda _: None, workers=1)
    generate(tmp_path / "b", spec, progress=lambda _: None, workers=4)
    generate(tmp_path / "c", DemoSpec(customers=150, seed=4), progress=lambda _: None)
    a, b, c = digest(tmp_path / "a"), digest(tmp_path / "b"), digest(tmp_path / "c")
    assert a == b
    assert a["registry/members.csv"] != c["registry/members.csv"]


def test_channel_layouts(small_demo):
    tmall = next((small_demo / "marketplaces/tmall").glob("*.csv")).read_bytes()
    assert tmall.decode("gbk").startswith("订单编号,买家会员名")
    jd = next((small_demo / "marketplaces/jd").glob("*.csv")).read_bytes()
    assert jd.startswith(b"\xef\xbb\xbf")
    text = "".join(p.read_bytes().decode("gbk") for p in (small_demo / "marketplaces/tmall").glob("*.csv"))
    assert "****" in text  # masked phones
    assert "退款成功" in text and "交易关闭" in text  # refunds and cancellations
    assert list((small_demo / "dealers").glob("*.xlsx"))
    assert list((small_demo / "interactions").glob("*.jsonl"))
    for rel in [
        "service/tickets.csv",
        "surveys/responses.csv",
        "marketing/campaigns.csv",
        "marketing/campaign_responses.csv",
        "b2b/leads.csv",
        "b2b/opportunities.csv",
        "registry/members.csv",
    ]:
        assert (small_demo / rel).stat().st_size > 0, rel


def test_truth_lists_every_row_of_every_file(small_demo):
    records = pl.read_parquet(small_demo / "truth/records.parquet")
    persons = pl.read_parquet(small_demo / "truth/persons.parquet")
    assert persons.height == 400
    assert records["person_id"].is_in(persons["person_id"].implode()).all()
    # Row counts per CSV file equal the truth's rows for that file, and row numbers are the file's lines.
    for rel, group in records.filter(pl.col("file").str.ends_with(".csv")).group_by("file"):
        path = small_demo / rel[0]
        enc = "gbk" if "tmall" in rel[0] else "utf-8-sig"
        lines = path.read_bytes().decode(enc).count("\n")
        assert group.height == lines - 1, rel
        assert sorted(group["row_number"].to_list()) == list(range(2, lines + 1)), rel
    dirty = pl.read_parquet(small_demo / "truth/dirty_rows.parquet")
    assert dirty.height == records.filter(pl.col("defect").is_not_null()).height
    assert records.filter(pl.col("is_duplicate_record")).height > 0  # planted duplicate registrations


@pytest.mark.parametrize("shape", ["invoice_lines", "western_shop", "duplicates", "registry_only"])
def test_each_other_company_shape_is_deterministic_and_its_truth_counts_its_files(shape, tmp_path):
    import csv

    from pipeline.demo.shapes import read_truth, write_shape

    a, b = write_shape(shape, tmp_path / "a", seed=3), write_shape(shape, tmp_path / "b", seed=3)
    assert a == b == read_truth(tmp_path / "a")
    for name in a.exports:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    encoding = "gbk" if shape == "duplicates" else "utf-8"
    rows = [
        row
        for name in a.exports
        for row in list(csv.reader((tmp_path / "a" / name).read_text(encoding=encoding).splitlines()))[1:]
    ]
    assert len(rows) == a.lines
    if shape != "registry_only":
        assert len({r[0] for r in rows}) == a.orders and a.purchases
    else:
        assert len({r[2] for r in rows}) == a.persons


def test_the_command_writes_a_shape(tmp_path, capsys):
    from pipeline.cli import main

    assert main(["demo-data", "--shape", "duplicates", "--out", str(tmp_path / "erp")]) == 0
    assert "Wrote 6 duplicates export(s)" in capsys.readouterr().out
    assert (tmp_path / "erp" / "truth" / "expected.json").exists()
