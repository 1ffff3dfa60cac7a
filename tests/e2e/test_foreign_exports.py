"""A company's own exports, not shaped like the demo: drafted by `crmgrade contract draft` and run as drafted (only
the glob, currency and time zone edited), the first `crmgrade run` is green and every figure is exact.

Beside the two exports written below, the run takes the three order shapes of pipeline/demo/shapes.py (a
wholesaler's invoice lines of a long-tail catalogue with credit notes, a Shopify-style shop with its order fields on
each order's first line, a Chinese ERP's monthly files with rows exported twice and orders listed again), each
checked against the truth the generator wrote; the fourth shape, a member registry and nothing else, is a company
of its own (test_a_registry_only_company_...).

Two exports written here, as another company would deliver them:
- a US web shop's order history of 1997-1998 in dollars: orders only, no order numbers, zero-padded customer
  numbers, `$1,234.50` totals, month/day/year dates, one line with an impossible date;
- a dealer's invoice-line export: cancellation invoices (`C...`) of negative quantities, float-text customer
  ids (`17850.0`), zero prices, unit prices of three places, exact duplicate lines and one broken line; each line's
  cost of goods (none on the cancellations), so its customers have a margin.
Nothing else: no members, interactions, tickets or campaigns. Graded as of 1998-07-01 in USD, through the real
command in a process of its own (its partitions start from its own config).
"""

import os
import random
import subprocess
import sys
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
import yaml

from pipeline.demo.shapes import write_shape
from pipeline.ingest.draft import draft_contract, render_draft
from tests.conftest import REPO
from tests.e2e.pipeline_runs import query

pytestmark = pytest.mark.slow

SHAPES = ("invoice_lines", "western_shop", "duplicates")  # in the run, as sources of their own

AS_OF = "1998-07-01"
SHOP_HEADER = "cust_no,date,items,total\n"
MARGIN_SCORING = {"method": "thresholds", "thresholds": [10, 40, 80, 160]}
INVOICE_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country,LineCost\n"


def _shop(rng: random.Random) -> tuple[str, list[tuple[str, Decimal]]]:
    """The shop's file and its valid orders (customer, total); the bad-date line is not among them."""
    lines, orders = [], []
    for customer in range(1, 81):
        for _ in range(rng.randint(1, 4)):
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            year = 1997 if month > 6 else rng.choice([1997, 1998])
            total = Decimal(rng.randint(500, 250_000)) / 100
            lines.append(f'{customer:05d},{month}/{day}/{year},{rng.randint(1, 3)},"${total:,.2f}"\n')
            orders.append((f"{customer:05d}", total))
    lines.insert(7, '00081,13/45/1997,1,"$10.00"\n')  # no such date: quarantined, naming the value
    return SHOP_HEADER + "".join(lines), orders


def _invoices(rng: random.Random) -> tuple[str, dict]:
    """The dealer's file and what it holds: purchases per customer, and the counts of each kind of line."""
    lines, purchases, margins = [], defaultdict(list), defaultdict(Decimal)
    number = 536365
    for _ in range(60):
        customer = rng.randint(12346, 12375)
        invoice, when = (
            str(number),
            f"{rng.randint(1, 5)}/{rng.randint(1, 28)}/1998 {rng.randint(8, 17)}:{rng.randint(10, 59)}",
        )
        number += 1
        value = Decimal(0)
        for _ in range(rng.randint(1, 4)):
            quantity, price = rng.randint(1, 24), Decimal(rng.randint(100, 9999)) / 1000
            cost = (quantity * price * Decimal("0.6")).quantize(Decimal("0.01"))
            lines.append(
                f"{invoice},{rng.randint(20000, 23000)},ITEM,{quantity},{when},{price},{customer}.0,USA,{cost}\n"
            )
            value += quantity * price
            margins[str(customer)] += quantity * price - cost
        purchases[str(customer)].append(value)
    # two cancellations of earlier goods, a zero-price invoice, two exact repeats of a line, one broken line
    lines.append("C536999,85123A,Cancelled,-2,5/30/1998 10:00,2.550,12346.0,USA,\n")
    lines.append("C537000,D,Discount,-1,5/30/1998 11:00,27.500,12347.0,USA,\n")
    credits = {"12346": [Decimal("5.10")], "12347": [Decimal("27.50")]}  # they lower those customers' net
    lines.append("537001,22139,FREE SAMPLE,56,6/1/1998 11:52,0,12348.0,USA,5.00\n")  # the sample cost its goods
    margins["12348"] -= Decimal("5.00")
    lines += [lines[0], lines[0]]
    lines.append("537002,22140,BROKEN\n")
    counts = {"lines": len(lines), "duplicates": 2, "malformed": 1}
    return INVOICE_HEADER + "".join(lines), {"purchases": purchases, "credits": credits, "margins": margins, **counts}


def _run_company(folder, settings: str) -> subprocess.CompletedProcess:
    """`crmgrade run` in a process of its own on a company's folder (exports/, contracts/), as of AS_OF, with
    `settings` (YAML lines) added to its crmgrade.yml."""
    config = folder / "crmgrade.yml"
    config.write_text(
        f"warehouse: {folder / 'w.duckdb'}\nas_of_date: {AS_OF}\n{settings}"
        f"sources: {{root: {folder / 'exports'}, contracts: {folder / 'contracts'}}}\n"
        f"reports_dir: {folder / 'reports'}\nserving: {{dir: {folder / 'serving'}}}\n"
        f"privacy: {{dir: {folder / 'privacy'}}}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMGRADE_", "DAGSTER_HOME"))}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--config", str(config)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def foreign_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("foreign")
    rng = random.Random(1998)
    shop, shop_orders = _shop(rng)
    invoices, dealer = _invoices(rng)
    sources, contracts = folder / "exports", folder / "contracts"
    (sources / "shop").mkdir(parents=True)
    (sources / "dealer").mkdir(parents=True)
    contracts.mkdir()
    (sources / "shop" / "orders_1997_1998.csv").write_text(shop, encoding="utf-8")
    (sources / "dealer" / "invoices.csv").write_text(invoices, encoding="utf-8")
    truths = {shape: write_shape(shape, sources / shape, end=date(1998, 6, 30)) for shape in SHAPES}
    # each contract as `crmgrade contract draft` writes it from one export, with only what a draft cannot know
    # edited: the files' glob, their currency and their time zone
    for name, export, source in (
        ("shop", "shop/orders_1997_1998.csv", "us_shop"),
        ("dealer", "dealer/invoices.csv", "dealer"),
        *((shape, f"{shape}/{truths[shape].exports[0]}", shape) for shape in SHAPES),
    ):
        drafted = yaml.safe_load(render_draft(draft_contract(sources / export), source))
        drafted.update(path=f"{name}/*.csv", currency="USD", timezone="America/New_York")
        (contracts / f"{name}.yml").write_text(yaml.safe_dump(drafted, allow_unicode=True), encoding="utf-8")
    spec = yaml.safe_load((REPO / "grading.yml").read_text(encoding="utf-8"))
    assert spec["currency"] == "CNY"
    spec["currency"] = "USD"
    # the dealer's cost of goods makes margin a dimension of its own (利润贡献)
    spec["dimensions"]["profit"] = {"indicator": "margin", "scoring": MARGIN_SCORING, "weight": 1}
    (folder / "grading.yml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    done = _run_company(folder, f"timezone: America/New_York\ngrading: {folder / 'grading.yml'}\n")
    return {
        "done": done,
        "warehouse": folder / "w.duckdb",
        "summary": folder / "reports" / "run_summary.md",
        "shop_orders": shop_orders,
        "dealer": dealer,
        "truths": truths,
    }


def test_the_first_run_is_green(foreign_run):
    done = foreign_run["done"]
    assert done.returncode == 0, done.stderr[-4000:]


def test_every_line_is_accounted_for(foreign_run):
    rows = query(
        foreign_run["warehouse"],
        """select source, status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, balanced
           from dq.reconciliation where source in ('dealer', 'us_shop') order by source""",
    )
    shop_valid = len(foreign_run["shop_orders"])
    lines = foreign_run["dealer"]["lines"]
    assert rows == [
        ("dealer", "loaded", lines, lines - 3, 1, 2, True),
        ("us_shop", "loaded", shop_valid + 1, shop_valid, 1, 0, True),
    ]
    quarantined = query(
        foreign_run["warehouse"],
        "select source, rule, reason from dq.quarantine where source in ('dealer', 'us_shop') order by source, rule",
    )
    assert [(s, r) for s, r, _ in quarantined] == [
        ("dealer", "file__malformed_line"),
        ("us_shop", "ordered_at__to_not_be_null"),
        ("us_shop", "parse_errors__to_be_null"),
    ]
    assert "ordered_at=13/45/1997" in quarantined[2][2]


def test_purchases_returns_and_free_lines_are_what_the_exports_say(foreign_run):
    warehouse = foreign_run["warehouse"]
    statuses = dict(
        query(
            warehouse,
            """select order_status || ':' || is_purchase, count(*) from marts.fct_orders
               where source_name in ('us_shop', 'dealer') group by 1""",
        )
    )
    shop, invoices = len(foreign_run["shop_orders"]), sum(map(len, foreign_run["dealer"]["purchases"].values()))
    # the two cancellation invoices are credit notes, the free sample an order of no value: no purchases
    assert statuses == {"completed:true": shop + invoices, "returned:false": 2, "completed:false": 1}
    [(currencies,)] = query(warehouse, "select list(distinct currency) from marts.fct_orders")
    assert currencies == ["USD"]


def _per_buyer(warehouse, columns: str, joined: str = "") -> list[tuple]:
    """(buyer_id, *columns) for every buyer id of the exports, through the identity links of its rows; `joined`
    joins a table keyed by customer_key (using)."""
    return query(
        warehouse,
        f"""select distinct coalesce(orders.buyer_id, orders.email), {columns}
           from raw.orders as orders
           join identity.record_links as links
               on links.source_name = orders._source and links.source_file = orders._source_file
               and links.source_row_number = orders._row_number
           {joined}""",
    )


def _expected_grades(foreign_run) -> dict[str, tuple[int, Decimal]]:
    """buyer -> (purchases, net spend): what it bought, less the credit notes naming no invoice, never below 0."""
    expected: dict[str, list[Decimal]] = defaultdict(list)
    credited: dict[str, Decimal] = defaultdict(Decimal)
    for customer, total in foreign_run["shop_orders"]:
        expected[customer].append(total)
    for customer, values in foreign_run["dealer"]["purchases"].items():
        expected[customer] += values
    for customer, values in foreign_run["dealer"]["credits"].items():
        credited[customer] += sum(values)
    for truth in foreign_run["truths"].values():  # the shapes' buyers: numbers, e-mails and codes of their own
        for buyer, values in truth.purchases.items():
            assert buyer not in expected
            expected[buyer] = [Decimal(v) for v in values]
        for buyer, values in truth.credits.items():
            credited[buyer] += sum(map(Decimal, values))
    return {c: (len(v), max(sum(v, Decimal(0)) - credited[c], Decimal(0))) for c, v in expected.items()}


def test_frequency_and_net_spend_per_customer_are_exact(foreign_run):
    graded = _per_buyer(
        foreign_run["warehouse"],
        "grades.frequency, grades.monetary, grades.grade",
        "join marts.customer_grades as grades using (customer_key) where grades.frequency > 0",
    )
    assert {b: (f, Decimal(m)) for b, f, m, _ in graded} == {
        c: (f, m.quantize(Decimal("0.01"), ROUND_HALF_UP)) for c, (f, m) in _expected_grades(foreign_run).items()
    }
    assert {g for *_, g in graded} <= {"A", "B", "C", "D"}


def test_the_summary_names_the_currency_and_the_absent_entities(foreign_run):
    text = foreign_run["summary"].read_text(encoding="utf-8")
    assert "net spend (USD)" in text
    assert "No data for customers, interactions, service_tickets, surveys, campaigns, campaign_responses, leads" in text
    assert "## Customers per grade (as of 1998-07-01)" in text


def test_margin_is_net_spend_less_cost_where_the_export_gives_one(foreign_run):
    rows = _per_buyer(
        foreign_run["warehouse"],
        "facts.margin, facts.margin_cost_coverage, facts.lifetime_monetary",
        "join marts.fct_customer as facts using (customer_key)",
    )
    margins = {b: (m, c) for b, m, c, _ in rows}
    expected = foreign_run["dealer"]["margins"]
    # the dealer's customers: every line's value less its cost, the free sample's cost taken off; all spend costed
    assert {b: Decimal(m).quantize(Decimal("0.01")) for b, (m, _) in margins.items() if b in expected} == {
        b: m.quantize(Decimal("0.01")) for b, m in expected.items()
    }
    assert {c for b, (_, c) in margins.items() if b in expected} == {1.0}
    # the shop exports no cost: no margin, nothing costed
    shop = {b for b, _ in foreign_run["shop_orders"]}
    assert {margins[b] for b in shop} == {(None, 0.0)}

    # graded by it: each dealer customer's profit score counts the thresholds its margin reaches
    scores = dict(
        query(
            foreign_run["warehouse"],
            "select customer_key, score from intermediate.int_grading__dimension_scores where dimension = 'profit'",
        )
    )
    keyed = dict(_per_buyer(foreign_run["warehouse"], "links.customer_key"))
    thresholds = MARGIN_SCORING["thresholds"]
    assert {b: scores[keyed[b]] for b in expected} == {
        b: 1 + sum(expected[b] >= t for t in thresholds) for b in expected
    }
    # a customer without a margin scores 1, as every customer without a value does: no evidence is not good evidence
    assert {scores[keyed[b]] for b in shop} == {1}


def test_each_shape_is_accounted_for_as_its_truth_says(foreign_run):
    for shape, truth in foreign_run["truths"].items():
        [(files, read, loaded, quarantined, duplicates, redelivered, balanced)] = query(
            foreign_run["warehouse"],
            f"""select count(*), sum(rows_read), sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate),
                       sum(orders_redelivered), bool_and(balanced)
                from dq.reconciliation where source = '{shape}'""",
        )
        assert (files, read, quarantined, duplicates, redelivered, balanced) == (
            len(truth.exports),
            truth.lines,
            0,
            truth.duplicates,
            truth.redelivered,
            True,
        ), shape
        [(orders,)] = query(
            foreign_run["warehouse"], f"select count(*) from marts.fct_orders where source_name = '{shape}'"
        )
        assert orders == truth.orders, shape


def test_a_long_tail_catalogue_keeps_every_product(foreign_run):
    truth = foreign_run["truths"]["invoice_lines"]
    [(products,)] = query(
        foreign_run["warehouse"], "select count(distinct product_id) from raw.orders where _source = 'invoice_lines'"
    )
    assert products == truth.products > 1000


def test_the_shops_order_fields_reach_every_line_of_the_order(foreign_run):
    rows = query(
        foreign_run["warehouse"],
        """select count(*), count(email), count(status), count(phone), count(*) filter (where phone like '+1415555%'),
                  count(amount), count(distinct order_id)
           from raw.orders where _source = 'western_shop'""",
    )
    truth = foreign_run["truths"]["western_shop"]
    # every line carries its order's e-mail, status and phone (fill_down); the total stays on the first line only
    assert rows == [(truth.lines, truth.lines, truth.lines, truth.lines, truth.lines, truth.orders, truth.orders)]


def test_a_registry_only_company_is_resolved_and_the_run_says_first_that_nobody_is_graded(tmp_path):
    """A company that sends its member registry and nothing else (no phones anywhere, several records per person):
    drafted and run as drafted, its people are resolved one customer each and published, and the run's summary
    opens with why nobody is graded (issue 45: "a registry-only company runs green end to end"; before, the run
    failed at the CLV step)."""
    truth = write_shape("registry_only", tmp_path / "exports" / "registry", end=date(1998, 6, 30))
    (tmp_path / "contracts").mkdir()
    drafted = yaml.safe_load(render_draft(draft_contract(tmp_path / "exports" / "registry" / "members.csv"), "members"))
    drafted.update(path="registry/*.csv", timezone="Europe/London")
    (tmp_path / "contracts" / "members.yml").write_text(yaml.safe_dump(drafted), encoding="utf-8")
    done = _run_company(tmp_path, "timezone: Europe/London\ncountry: GB\n")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "**Nobody was graded**: no order was loaded: no source contract maps entity `orders`" in done.stdout
    assert "Nobody is graded" in done.stderr  # the CLV step's warning, on the console as it runs
    assert query(tmp_path / "w.duckdb", "select count(*) from clv.customer_predictions") == [(0,)]
    [(records, customers)] = query(
        tmp_path / "w.duckdb", "select count(*), count(distinct customer_key) from identity.record_links"
    )
    assert (records, customers) == (truth.lines, truth.persons)
    [(facts,)] = query(tmp_path / "w.duckdb", "select count(*) from marts.fct_customer")
    assert facts == truth.persons
