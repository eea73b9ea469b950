"""The sample database scales to the schemas the benchmarks need: up to
10,000 tables, each a copy of a sample table, each with its own name."""

import json
import urllib.error
import urllib.request

import pytest

from standin import sampledb


def _settings(endpoint: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(f"{endpoint}/_snaplake/exports/settings", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_ten_thousand_tables_have_distinct_names_from_known_tables():
    names = sampledb.table_names(10_000)
    assert len(names) == len(set(names)) == 10_000
    assert names[:3] == ["customers", "orders", "articles"]
    assert names[-1] == "articles_10000"
    assert {sampledb.base(n) for n in names} == set(sampledb.TABLES)


@pytest.mark.parametrize("tables, status", [(10_000, 200), (10_001, 400), (0, 400)])
def test_the_settings_take_up_to_ten_thousand_tables(aws, endpoint, tables, status):
    aws("s3")  # resets the stand-in
    code, body = _settings(endpoint, {"sample_tables": tables})
    assert code == status, body
    if status == 200:
        assert body["sample_tables"] == tables
    else:
        assert "between 1 and 10000" in body["error"]


def test_a_source_that_shrank_exports_its_share_of_rows(aws, endpoint, monkeypatch):
    when = sampledb.dt.datetime(2026, 11, 20, 18)
    whole = len(sampledb.rows("orders", when))
    monkeypatch.setitem(sampledb.KEEP_FRACTION, "orders", 0.1)
    assert len(sampledb.rows("orders", when)) == whole // 10
    assert len(sampledb.rows("articles_0004", when)) > 0, "only the table named shrinks"
    aws("s3")  # resets the stand-in
    code, body = _settings(endpoint, {"keep_fraction": {"orders": 0.1}})
    assert code == 200, body
    code, body = _settings(endpoint, {"keep_fraction": {"orders": 2}})
    assert code == 400 and "keep_fraction" in body["error"], body
