"""The readers users already have open what taojin writes: DuckDB, polars and Hugging Face
`datasets` read the stage Parquet files with the documented columns, and `taojin sql`
answers as DuckDB does on the same files."""

import json
import os
import subprocess

import duckdb
import polars as pl
import pytest
from datasets import load_dataset

from conftest import BIN, HERE, demo_run

MODEL = os.path.abspath(os.path.join(HERE, "..", "..", "models", "lid.176.ftz"))
STAGES = ["normalize", "langid", "quality", "exact_dedup"]


@pytest.fixture(scope="session")
def out(tmp_path_factory):
    assert os.path.exists(MODEL), f"{MODEL} missing: `make test` fetches it (make models)"
    return demo_run(
        tmp_path_factory.mktemp("readers"),
        '[[stages]]\nkind = "normalize"\n\n'
        f'[[stages]]\nkind = "langid"\nmodel = "{MODEL}"\nkeep = ["en", "zh-Hans", "zh-Hant"]\n\n'
        '[[stages]]\nkind = "quality"\n\n[[stages]]\nkind = "exact_dedup"\n',
    )


def stats(out):
    return {s["name"]: s for s in json.loads((out / "stats.json").read_text())["stages"]}


def parts(out, stage, removed=False):
    return str(out / stage / ("removed/part-*.parquet" if removed else "part-*.parquet"))


def column_types(con, glob):
    return {r[0]: r[1] for r in con.sql(f"DESCRIBE SELECT * FROM read_parquet('{glob}')").fetchall()}


def test_duckdb_reads_every_stage_with_the_documented_columns(out):
    st = stats(out)
    con = duckdb.connect()
    for stage in STAGES:
        n = con.sql(f"SELECT count(*) FROM read_parquet('{parts(out, stage)}')").fetchone()[0]
        assert n == st[stage]["docs_kept"], stage
        types = column_types(con, parts(out, stage))
        for col in ("id", "text", "source", "url", "meta"):
            assert types[col] == "VARCHAR", (stage, col, types[col])
        if stage != "normalize":
            assert types["lang"] == "VARCHAR" and types["lang_score"] in ("FLOAT", "DOUBLE"), types
        removed = sum(st[stage]["docs_removed"].values())
        if removed:
            got = con.sql(f"SELECT reason, count(*) FROM read_parquet('{parts(out, stage, True)}') "
                          "GROUP BY reason").fetchall()
            assert dict(got) == st[stage]["docs_removed"], stage
    types = column_types(con, parts(out, "exact_dedup"))
    assert types["exact_dup.cluster"] == "UBIGINT" and types["exact_dup.cluster_size"] == "UINTEGER"
    assert types["gopher.n_words"] in ("INTEGER", "UINTEGER", "BIGINT", "UBIGINT", "DOUBLE", "FLOAT"), types


def test_polars_and_datasets_read_the_same_rows(out):
    con = duckdb.connect()
    glob = parts(out, "quality")
    want = con.sql(f"SELECT id, lang FROM read_parquet('{glob}') ORDER BY id").fetchall()
    got = pl.scan_parquet(glob).select("id", "lang").sort("id").collect()
    assert list(got.iter_rows()) == want
    files = sorted(str(p) for p in (out / "quality").glob("part-*.parquet"))
    ds = load_dataset("parquet", data_files=files, split="train")
    assert ds.num_rows == len(want)
    assert ds.features["id"].dtype == "string" and ds.features["text"].dtype == "string"
    assert sorted(zip(ds["id"], ds["lang"])) == want


@pytest.mark.parametrize("query", [
    "SELECT lang, count(*) AS n, sum(length(text)) AS chars FROM {langid} GROUP BY lang ORDER BY lang",
    'SELECT source, count(*) AS n, sum("gopher.n_words") AS words, round(avg("zh.han_ratio"), 6) AS han FROM {quality} '
    "GROUP BY source ORDER BY source",
    "SELECT reason, count(*) AS n FROM {quality_removed} GROUP BY reason ORDER BY reason",
    'SELECT "exact_dup.cluster_size" AS size, count(*) AS n FROM {exact_dedup} '
    'WHERE "exact_dup.cluster_size" > 1 GROUP BY 1 ORDER BY 1',
])
def test_taojin_sql_answers_as_duckdb(out, query):
    tables = {"langid": "langid", "quality": "quality", "quality_removed": "quality_removed",
              "exact_dedup": "exact_dedup"}
    ours = subprocess.run([BIN, "sql", str(out), query.format(**tables), "--format", "json"],
                          check=True, capture_output=True, text=True).stdout
    ours = [json.loads(line) for line in ours.splitlines() if line.strip()]  # JSON lines
    duck = {"langid": f"read_parquet('{parts(out, 'langid')}')",
            "quality": f"read_parquet('{parts(out, 'quality')}')",
            "quality_removed": f"read_parquet('{parts(out, 'quality', True)}')",
            "exact_dedup": f"read_parquet('{parts(out, 'exact_dedup')}')"}
    con = duckdb.connect()
    rel = con.sql(query.format(**duck))
    theirs = [dict(zip(rel.columns, row)) for row in rel.fetchall()]
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs):
        assert a.keys() == b.keys()
        for k in a:
            if isinstance(b[k], float):
                assert a[k] == pytest.approx(b[k], rel=1e-9), k
            else:
                assert a[k] == b[k], k
