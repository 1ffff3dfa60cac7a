"""End to end on copies of the shared first run's warehouse (tests/e2e/conftest.py): the models rebuilt as of an
earlier day and backtested, the grades recomputed under an edited spec, a person erased. A module of its own so
that a second test process carries this work while the first runs the CLI again (tests/e2e/test_pipeline.py)."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from tests.conftest import CONTRACTS, DEMO_AS_OF, bytes_holding
from tests.e2e.pipeline_runs import dbt_on, materialize, query, warehouse_copy

pytestmark = pytest.mark.slow

EARLIER_ARGS = ["--vars", '{"as_of_date": "2026-01-01"}']


@pytest.fixture(scope="module")
def earlier_day(first_run, run_env, tmp_path_factory):
    """A copy of the run's warehouse with the models rebuilt as of 2026-01-01: a second graded day in history."""
    _, warehouse = run_env
    tmp_path = tmp_path_factory.mktemp("earlier")
    copy = warehouse_copy(warehouse, tmp_path)
    # only what depends on the as-of date; staging and identity are as the first run left them
    as_of_models = "int_customer__purchases+ int_customer__interactions+ int_customer__satisfaction+ " + (
        "int_customer__service+ int_customer__engagement+"
    )
    marts = "dim_customer fct_customer fct_orders fct_interactions fct_service"
    dbt_on(
        copy,
        tmp_path,
        ["run", *EARLIER_ARGS, "--select", as_of_models],
        ["docs", "generate", *EARLIER_ARGS, "--select", marts],
    )
    return copy, tmp_path


def test_facts_use_only_data_before_the_as_of_date(earlier_day, run_env):
    """Rebuild the models as of an earlier date on a copy: every family counts only what came before it."""
    _, warehouse = run_env
    copy, tmp_path = earlier_day
    args = EARLIER_ARGS
    as_of = "timestamp '2026-01-01'"
    mismatched = query(
        copy,
        f"""with expected as (
            select customer_key, count(*) filter (where is_purchase) as frequency,
                   coalesce(sum(net_amount), 0) as monetary,
                   date_diff('day', max(ordered_at) filter (where is_purchase)::date, date '2026-01-01') as recency
            from marts.fct_orders where ordered_at < {as_of} and customer_key is not null group by 1
        ),
        interactions as (
            select customer_key, count(*) filter (where occurred_at >= {as_of} - interval 30 day) as n30
            from marts.fct_interactions where occurred_at < {as_of} and customer_key is not null group by 1
        )
        select f.customer_key from marts.fct_customer f
        left join expected e using (customer_key) left join interactions i using (customer_key)
        where f.lifetime_frequency != coalesce(e.frequency, 0) or f.lifetime_monetary != coalesce(e.monetary, 0)
           or f.recency_days is distinct from e.recency or f.interactions_30d != coalesce(i.n30, 0)""",
    )
    assert not mismatched, mismatched[:5]
    assert query(copy, "select distinct as_of_date::varchar from marts.fct_customer") == [("2026-01-01",)]
    assert query(copy, "select count(*) from marts.fct_customer where last_purchase_at >= " + as_of) == [(0,)]
    # Fewer customers existed then than at the configured date.
    assert (
        query(copy, "select count(*) from marts.fct_customer")[0][0]
        < query(warehouse, "select count(*) from marts.fct_customer")[0][0]
    )
    # History keeps both days' grades (the rebuild's slice added, the run's kept); grading a day again replaces it.
    dbt_on(copy, tmp_path, ["run", *args, "--select", "grade_history"])
    days = query(
        copy, "select as_of_date::varchar, count(*), min(run_id) from history.grade_history group by all order by 1"
    )
    graded_then = query(copy, "select count(*) from marts.customer_grades")[0][0]
    assert [d[:2] for d in days] == [("2026-01-01", graded_then), (DEMO_AS_OF, days[1][1])] and days[0][2] == "manual"
    assert days[1][2] != "manual"  # the Dagster run's id
    # Migrations from 2026-01-01 to the run's date: every customer of either day moves exactly once per horizon.
    moves = query(
        copy,
        f"""select horizon, sum(customers), count(distinct compared_with_date)
        from monitoring.grade_migrations
        where as_of_date = date '{DEMO_AS_OF}' and dimension = 'grade' group by 1 order by 1""",
    )
    assert [(h, n) for h, n, _ in moves] == [(h, days[1][1]) for h in ("30d", "90d", "previous")]
    per_grade_then = query(
        copy,
        f"""select from_value, sum(customers) from monitoring.grade_migrations
        where as_of_date = date '{DEMO_AS_OF}' and dimension = 'grade' and horizon = 'previous'
            and from_value != '(new)' group by 1 order by 1""",
    )
    assert per_grade_then == query(
        copy,
        "select grade, count(*) from history.grade_history where as_of_date = '2026-01-01' group by 1 order by 1",
    )
    assert query(copy, "select count(*) from monitoring.kpi_trends where previous_date is not null") == [(1,)]
    # dbt docs describe every mart.
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text(encoding="utf-8"))
    marts = {n["metadata"]["name"] for n in catalog["nodes"].values() if n["metadata"]["schema"] == "marts"}
    assert {"dim_customer", "fct_customer", "fct_orders", "fct_interactions", "fct_service"} <= marts


def test_a_changed_weight_or_cut_off_in_grading_yml_changes_the_grades(first_run, run_env, tmp_path):
    """Re-grade a copy of the warehouse under an edited spec: the grades follow the new weights and cut-offs."""
    import yaml

    from pipeline.grading.spec import load_grading_spec, write_spec
    from tests.conftest import REPO

    _, warehouse = run_env
    before = {
        r[0]: r[1:] for r in query(warehouse, "select customer_key, grade, weighted_score from marts.customer_grades")
    }
    data = yaml.safe_load((REPO / "grading.yml").read_text(encoding="utf-8"))
    data["dimensions"]["monetary"]["weight"] = 3
    data["dimensions"]["recency"]["scoring"] = {"method": "quantile"}
    data["grades"][0]["min_score"] = 4.5
    data["profiles"] = []
    edited = tmp_path / "grading.yml"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    copy = warehouse_copy(warehouse, tmp_path)
    con = duckdb.connect(str(copy))
    write_spec(con, load_grading_spec(edited), "edited")
    con.close()
    vars_ = json.dumps({"as_of_date": DEMO_AS_OF})
    dbt_on(copy, tmp_path, ["build", "--vars", vars_, "--select", "int_grading__customer_profiles+"])
    after = query(
        copy,
        """select customer_key, grade, weighted_score, r_score, f_score, m_score, recency_days
        from marts.customer_grades""",
    )
    assert len(after) == len(before)
    # quantile recency: the quintile of the first holder of the value, worst (longest ago) first
    days = [row[6] for row in after]
    for *_, r, _, _, d in after:
        assert r == 1 + (5 * sum(other > d for other in days)) // len(days)
    after = [row[:6] for row in after]
    # weighted score = (R + F + 3M) / 5; A now needs 4.5, the other cut-offs are unchanged
    assert all(abs(s - round((r + f + 3 * m) / 5, 4)) < 1e-9 for _, _, s, r, f, m in after)
    expected = {k: "A" if s >= 4.5 else "B" if s >= 3 else "C" if s >= 2 else "D" for k, _, s, *_ in after}
    assert {k: g for k, g, *_ in after} == expected
    assert sum(g == "A" for g, _ in before.values()) != sum(g == "A" for _, g, *_ in after)


def test_the_backtest_compares_a_past_days_grades_with_the_purchases_after_it(earlier_day, run_env):
    """The real backtest asset on the copy: 2026-01-01's grades against the 90 days after (the run's own day,
    DEMO_AS_OF, is not backtested: its horizon has not passed)."""
    config, _ = run_env
    copy, _ = earlier_day
    backtest = dg.AssetSelection.keys(
        ["evaluation", "backtest_groups"], ["evaluation", "backtest_scores"], ["evaluation", "backtest_recommendations"]
    )
    result = materialize(config, copy, selection=backtest)
    assert result.success
    graded = query(copy, "select count(*) from history.grade_history where as_of_date = '2026-01-01'")[0][0]
    day = query(
        copy,
        """select as_of_date::varchar, customers, buyers, revenue from evaluation.backtest_groups
        where grouped_by = 'all'""",
    )
    expected = query(
        copy,
        """select count(distinct o.customer_key), sum(o.net_amount)::double from history.grade_history g
        join marts.fct_orders o on o.customer_key = g.customer_key and o.is_purchase
            and o.order_date >= date '2026-01-01' and o.order_date < date '2026-04-01'
        where g.as_of_date = '2026-01-01'""",
    )[0]
    assert [d[:3] for d in day] == [("2026-01-01", graded, expected[0])]
    assert day[0][3] == pytest.approx(expected[1])
    # every grade's customers add up to the day's; lift is revenue per customer over the day's average
    per_grade = query(
        copy,
        """select sum(customers), sum(revenue), max(abs(lift - revenue / customers / (
            select revenue / customers from evaluation.backtest_groups where grouped_by = 'all')))
        from evaluation.backtest_groups where grouped_by = 'grade'""",
    )[0]
    assert per_grade[0] == graded and per_grade[1] == pytest.approx(day[0][3]) and per_grade[2] < 1e-9
    # The grading of the demo is worth something: it ranks the next quarter's buyers better than chance.
    [(area,)] = query(copy, "select auc_repeat from evaluation.backtest_scores where score = 'weighted_score'")
    assert area > 0.6
    checks = [c for c in result.get_asset_check_evaluations() if c.check_name == "grades_predict_better_than_chance"]
    assert [c.passed for c in checks] == [True]

    # The day's recommendations: a hit is an offered product its customer bought in the 90 days after
    offers = query(
        copy,
        """select basis, customers, recommendations, hits, chance_hit_rate, lift
        from evaluation.backtest_recommendations where as_of_date = '2026-01-01' order by basis""",
    )
    [(offered, bought)] = query(
        copy,
        """select count(*), count(*) filter (where exists (
                select 1 from intermediate.int_order_lines l join marts.fct_orders o using (source_name, order_id)
                where l.customer_key = r.customer_key and l.product_key = r.product_key and o.is_purchase
                    and o.order_date >= date '2026-01-01' and o.order_date < date '2026-04-01'))
        from history.recommendation_history r where r.as_of_date = '2026-01-01'""",
    )
    by_basis = {basis: rest for basis, *rest in offers}
    assert by_basis["all"][1:3] == [offered, bought] and offered > 0
    assert by_basis["co_purchase"][1] + by_basis["segment_popular"][1] == offered
    # the demo's customers buy to their planted taste: products offered for what a customer already bought sell
    # better than the segment's habit would sell them
    assert by_basis["co_purchase"][4] > 1, offers


def _planted_person(warehouse: Path) -> dict:
    """A member whose registry row was quarantined for its e-mail, who is a customer through other records and
    whose name no one else has: their data is in raw, marts, history, quarantine, validation samples, reports."""
    rows = query(
        warehouse,
        """select q.record ->> 'mobile', q.record ->> 'email', q.record ->> 'full_name', d.customer_key
        from dq.quarantine q
        join marts.dim_customer d on d.phone = '+86' || (q.record ->> 'mobile')
        where q.source = 'members' and q.rule like 'email%'
          and (select count(distinct customer_key) from marts.dim_customer where name = q.record ->> 'full_name') <= 1
        order by d.customer_key limit 1""",
    )
    assert rows, "the demo plants members quarantined for a malformed e-mail"
    mobile, email, name, key = rows[0]
    return {"mobile": mobile, "phone": f"+86{mobile}", "email": email, "name": name, "key": key}


def _columns_holding(con: duckdb.DuckDBPyConnection, values: list[str]) -> list[tuple]:
    """(schema, table, column, value) for every text column of every table holding one of `values`."""
    columns = con.sql(
        """select schema_name, table_name, column_name from duckdb_columns()
        where data_type = 'VARCHAR' and database_name = current_database()"""
    ).fetchall()
    return [
        (s, t, c, v)
        for s, t, c in columns
        for v in values
        if con.execute(f'select count(*) from "{s}"."{t}" where contains("{c}", ?)', [v]).fetchall()[0][0]
    ]


def _texts_holding(values: list[str], folder: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".md", ".json", ".jsonl", ".csv", ".parquet", ".duckdb"):
            data = path.read_bytes()
            found += [f"{path.name}: {v}" for v in values if v.encode() in data]
    return found


def test_an_erased_person_leaves_no_byte_in_any_file_the_job_wrote(first_run, tmp_path, monkeypatch, capsys):
    """Issue 43's grep-everything test: the person also written the ways the probe found them (a phone with an
    extension, two numbers in one cell, a JSON line cut short), a run with Dagster's storage on disk, a receiver's
    archived outbox file; after `crmgrade erase`, no file under the warehouse folder, reports, outbox, serving,
    privacy, Dagster's storage or dbt's logs holds their phone, e-mail, name or member number, as bytes."""
    import shutil

    from pipeline.cli import main

    cfg, copy = first_run.copy_to(tmp_path)
    sources = tmp_path / "sources"
    shutil.copytree(first_run.sources, sources)
    text = cfg.read_text(encoding="utf-8").replace(str(first_run.sources), str(sources))
    cfg.write_text(text + "quality: {max_quarantine_share: 1.0}\n", encoding="utf-8")
    person = _planted_person(copy)
    [(member_id,)] = query(
        copy,
        f"""select any_value(record ->> 'member_no') from dq.quarantine
        where source = 'members' and record ->> 'mobile' = '{person["mobile"]}'""",
    )
    m = person["mobile"]
    formatted = f"{m[:3]}-{m[3:7]}-{m[7:]}"
    registry = sources / "registry" / "late_members.csv"
    header = (sources / "registry" / "members.csv").read_text(encoding="utf-8").splitlines()[0]
    empty = "," * (header.count(",") - 2)
    registry.write_text(
        f"{header}\nM99000001,{person['name']},{formatted} 转 8001{empty}\nM99000002,,{m}/13900000000{empty}\n",
        encoding="utf-8",
    )
    (sources / "interactions" / "events_late.jsonl").write_text(
        '{"eventId":"L1","memberId":null,"mobile":"13803487923","email":null,"eventType":"email",'
        '"direction":"outbound","ts":"2026-06-29T11:13:46Z","durationSec":null,"outcome":null}\n'
        f'{{"eventId":"L2","mobile":"{m}","email":"{person["email"]}","eventType":"call","ts":"2026-06-2\n',
        encoding="utf-8",
    )
    for path in list((tmp_path / "outbox").glob("*/*.csv")):
        (path.parent / "archive").mkdir(exist_ok=True)
        shutil.copy(path, path.parent / "archive" / path.name)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    assert main(["run", "--config", str(cfg)]) == 0, capsys.readouterr()

    values = [m, person["phone"], formatted, person["email"], person["name"], member_id]
    stores = [p for p in tmp_path.iterdir() if p != sources and p != cfg]
    dbt_logs = [Path(__file__).parents[2] / "dbt_project" / d for d in ("logs", "target")]
    planted = {v for v in values if bytes_holding([v], stores)}
    assert planted == set(values), "the values are there to be found before"
    assert bytes_holding([formatted], [tmp_path / "reports"]), "a validation page shows the formatted phone"

    assert main(["erase", "--config", str(cfg), "--phone", m, "--by", "dpo", "--reason", "T-1"]) == 0
    assert bytes_holding(values, [*stores, *dbt_logs]) == []
    assert query(copy, "select count(*) from raw.customers where _source_file = 'registry/members.csv'")[0][0] > 0

    con = duckdb.connect(str(copy), read_only=True)
    try:
        left = _columns_holding(con, values)
        keyed = con.execute("select count(*) from marts.customer_grades where customer_key = ?", [person["key"]])
        audit = con.sql("select requested_by, reason, requested_with, customer_keys from privacy.erasure_audit")
        keyed, audit = keyed.fetchall()[0][0], audit.fetchall()
    finally:
        con.close()
    assert left == [] and keyed == 0
    assert audit == [("dpo", "T-1", "phone", [person["key"]])]
    assert _texts_holding(values, tmp_path / "reports") == []
    assert _texts_holding(values, tmp_path / "privacy") == []  # the audit log and suppression list hold no data
    # the serving copy was published again without the person; older versions, which held them, are gone
    versions = list((tmp_path / "serving" / "versions").iterdir())
    assert len(versions) == 1
    served = query(
        tmp_path / "serving" / "warehouse.duckdb",
        f"select count(*) from bi.customers where customer_key = '{person['key']}'",
    )
    assert served == [(0,)]
    assert query(copy, "select count(*) from marts.dim_customer")[0][0] > 0  # nobody else went

    # a customer the outbox sent to the CRM leaves the outbox files on this disk; the others' events stay
    crm_file = sorted((tmp_path / "outbox" / "crm_groups").glob("*.csv"))[0]
    rows = crm_file.read_text(encoding="utf-8-sig").splitlines()
    sent = rows[1].split(",")[6]
    assert main(["erase", "--config", str(cfg), "--customer", sent, "--by", "dpo", "--reason", "T-2"]) == 0
    left_rows = crm_file.read_text(encoding="utf-8-sig").splitlines()
    assert left_rows == [r for r in rows if r.split(",")[6] != sent] and len(left_rows) < len(rows)
    assert _texts_holding([sent], tmp_path / "outbox") == []
    assert query(copy, f"select count(*) from activation.events where customer_key = '{sent}'") == [(0,)]

    # Ingesting the original files again (into a fresh warehouse: a rebuild) does not bring the person back
    from datetime import date, datetime

    from pipeline.contracts import load_contracts
    from pipeline.ingest.loader import IngestOptions, ingest_contract
    from pipeline.privacy.salt import privacy_salt
    from pipeline.privacy.suppression import load_suppressions

    privacy = tmp_path / "privacy"
    options = IngestOptions(
        warehouse_tz="Asia/Shanghai",
        run_id="reingest",
        now=datetime(2026, 7, 1),
        as_of_date=date(2026, 7, 1),
        suppression=(privacy_salt(privacy), load_suppressions(privacy).hashes),
    )
    fresh = duckdb.connect(str(tmp_path / "fresh.duckdb"))
    try:
        for contract in load_contracts(CONTRACTS):
            ingest_contract(fresh, contract, first_run.sources, options=options)
        back = _columns_holding(fresh, values)
        accounts = fresh.sql("select sum(rows_suppressed), bool_and(balanced) from dq.reconciliation").fetchall()[0]
        loaded = fresh.sql("select count(*) from raw.orders").fetchall()[0][0]
    finally:
        fresh.close()
    assert back == []
    assert accounts[0] > 0 and accounts[1]  # counted, and rows read = loaded + quarantined + dups + suppressed
    assert loaded > 0
