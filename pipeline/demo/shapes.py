"""Other companies' exports, shaped unlike the demo retailer, each with the figures a right first run must give.

`crmgrade demo-data --shape NAME` writes one; tests/e2e/test_foreign_exports.py drafts a contract for each export
with `crmgrade contract draft`, edits only what a draft cannot know (the glob, the currency, the time zone), runs
the job and compares every buyer's purchases and net spend with the truth written here (truth/expected.json):

- invoice_lines: a wholesaler's invoice-line export (English headers): a long-tail catalogue of thousands of stock
  codes, customer numbers a spreadsheet made floats (`17850.0`), unit prices of three places, invoices without a
  customer (walk-in trade), and credit notes (`C...` invoices of negative quantities) that do not name the invoice
  they return;
- western_shop: a Shopify-style order export in dollars: one row per order line, the order's e-mail, status, total,
  refund and billing fields on its first line only, `#1001` order numbers in a column called `Name`, timestamps with
  their UTC offset, phones with +1;
- duplicates: a Chinese ERP's monthly exports (GBK, `单据编号` ids that all start `SO`, `金额(元)`): rows repeated
  verbatim within a file, and orders listed again in the next month's file with a new status;
- registry_only: a member registry and nothing else: no phones, no orders, several records per person.

Values are Decimal strings in the truth, so the test compares money exactly.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

SHAPES = ("invoice_lines", "western_shop", "duplicates", "registry_only")
TRUTH_FILE = "truth/expected.json"


@dataclass
class ShapeTruth:
    shape: str
    exports: list[str]  # files written, relative to the folder
    # buyer (customer number, e-mail or code, as the export writes it) -> the net value of each of its purchases
    # before the as-of date (refunds netted, cancellations out)
    purchases: dict[str, list[str]] = field(default_factory=dict)
    # buyer -> the value of each credit note it got before the as-of date that names no invoice: lowers its net
    # spend (never below 0), not its purchases
    credits: dict[str, list[str]] = field(default_factory=dict)
    lines: int = 0  # data rows written, over every file
    duplicates: int = 0  # rows repeated verbatim within a file
    redelivered: int = 0  # orders listed again in a later file
    orders: int = 0  # distinct orders (after re-delivery), anonymous ones included
    persons: int = 0  # registry_only: the people behind the records
    products: int = 0


def write_shape(shape: str, out: Path | str, seed: int = 7, end: date = date(1998, 6, 30)) -> ShapeTruth:
    """Write one shape's exports into `out` (created) and its truth into out/truth/expected.json."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; shapes: {', '.join(SHAPES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{shape}:{seed}")
    truth = {
        "invoice_lines": _invoice_lines,
        "western_shop": _western_shop,
        "duplicates": _duplicates,
        "registry_only": _registry_only,
    }[shape](rng, out, end)
    (out / "truth").mkdir(exist_ok=True)
    (out / TRUTH_FILE).write_text(json.dumps(asdict(truth), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return truth


def read_truth(folder: Path | str) -> ShapeTruth:
    return ShapeTruth(**json.loads((Path(folder) / TRUTH_FILE).read_text(encoding="utf-8")))


def _moment(rng: random.Random, end: date, days: int = 330) -> datetime:
    day = end - timedelta(days=rng.randint(1, days))
    return datetime(day.year, day.month, day.day, rng.randint(8, 19), rng.randint(0, 59))


def _invoice_lines(rng: random.Random, out: Path, end: date) -> ShapeTruth:
    """Long tail: a few stock codes sell often, most rarely (Pareto draws over 3,000 codes)."""
    codes = [f"{20000 + i}" + ("" if i % 7 else "A") for i in range(3000)]
    prices = {c: Decimal(rng.randint(100, 25_000)) / 1000 for c in codes}
    header = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    rows, purchases, sold = [], defaultdict(list), set()
    number = 536365
    invoices = []
    for _ in range(900):
        customer = rng.randint(17001, 17080) if rng.random() > 0.08 else None  # walk-in trade: no customer
        when = _moment(rng, end)
        lines: dict[str, int] = {}  # one line per stock code: two equal lines would be one line exported twice
        for _ in range(rng.randint(1, 6)):
            popular = min(int(rng.paretovariate(1.1)) - 1, len(codes) - 1)
            lines.setdefault(codes[popular if rng.random() < 0.5 else rng.randrange(len(codes))], rng.randint(1, 24))
        lines = list(lines.items())
        invoices.append((str(number), customer, when, lines))
        number += 1
    invoices.sort(key=lambda inv: inv[2])
    for invoice, customer, when, lines in invoices:
        value = Decimal(0)
        for code, quantity in lines:
            cid = f"{customer}.0" if customer else ""
            rows.append(
                f"{invoice},{code},ITEM {code},{quantity},{when:%m/%d/%Y %H:%M},{prices[code]},{cid},United Kingdom\n"
            )
            value += quantity * prices[code]
            sold.add(code)
        if customer and value > 0:
            purchases[str(customer)].append(value)
    # credit notes that name no invoice: orders of their own, whose value lowers the customer's net spend
    credits = defaultdict(list)
    for i, (_, customer, when, lines) in enumerate(inv for inv in invoices if inv[1] and rng.random() < 0.06):
        code, quantity = lines[0]
        later = when + timedelta(days=3)
        if later.date() < end:
            rows.append(
                f"C{581000 + i},{code},ITEM {code},-{quantity},{later:%m/%d/%Y %H:%M},{prices[code]},{customer}.0,"
                "United Kingdom\n"
            )
            credits[str(customer)].append(quantity * prices[code])
    (out / "invoices.csv").write_text(header + "".join(rows), encoding="utf-8")
    return ShapeTruth(
        "invoice_lines",
        ["invoices.csv"],
        {k: [str(v) for v in vs] for k, vs in purchases.items()},
        {k: [str(v) for v in vs] for k, vs in credits.items()},
        lines=len(rows),
        orders=len({r.split(",")[0] for r in rows}),
        products=len(sold),
    )


SHOP_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Total,Created at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Billing Name,Billing Street,Billing City,"
    "Billing Province,Billing Phone,Refunded Amount,Id\n"
)


def _western_shop(rng: random.Random, out: Path, end: date) -> ShapeTruth:
    first_names = ["Ann", "Bob", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal", "Ida", "Jo"]
    last_names = ["Lee", "Ray", "Doe", "Fox", "Kim", "Poe", "Roy", "Sim", "Tan", "Yu"]
    names = rng.sample([f"{f} {last}" for f in first_names for last in last_names], 70)  # one person, one name
    cities = [("Boston", "MA"), ("Austin", "TX"), ("Denver", "CO")]
    people = [
        (f"buyer{i:03d}@example.com", names[i], f"+1 415-555-{1000 + i:04d}", rng.choice(cities)) for i in range(70)
    ]
    catalogue = [(f"SKU-{i:03d}", f"Item {i}", Decimal(rng.randint(300, 9000)) / 100) for i in range(40)]
    orders = []
    for _ in range(220):
        orders.append(
            (
                _moment(rng, end),
                rng.choice(people),
                [(rng.choice(catalogue), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))],
            )
        )
    orders.sort(key=lambda o: o[0])
    rows, purchases = [], defaultdict(list)
    for number, (when, (email, name, phone, (city, state)), lines) in enumerate(orders, start=1001):
        total = sum((price * q for (_, _, price), q in lines), Decimal(0))
        status = rng.choices(["paid", "refunded", "partially_refunded", "voided"], [80, 7, 8, 5])[0]
        refunded = {"refunded": total, "partially_refunded": (total / 4).quantize(Decimal("0.01"))}.get(
            status, Decimal(0)
        )
        offset = "-0400" if 3 <= when.month <= 10 else "-0500"
        stamp = f"{when:%Y-%m-%d %H:%M:%S} {offset}"
        for i, ((sku, title, price), quantity) in enumerate(lines):
            if i == 0:
                order = (f"#{number},{email},{status},{stamp if status != 'voided' else ''},fulfilled,USD,{total},0.00,"
                         f"{total},{stamp},")  # fmt: skip
                billing = f'{name},"1 Main St",{city},{state},{phone},{refunded},{5_000_000 + number}'
            else:
                order = f"#{number},,,,,,,,,{stamp},"
                billing = f",,,,,,{5_000_000 + number}"
            rows.append(f"{order}{quantity},{title},{price},{sku},{billing}\n")
        if status in ("paid", "partially_refunded"):
            purchases[email].append(total - refunded)
    (out / "orders_export_1.csv").write_text(SHOP_HEADER + "".join(rows), encoding="utf-8")
    return ShapeTruth(
        "western_shop",
        ["orders_export_1.csv"],
        {k: [str(v) for v in vs] for k, vs in purchases.items()},
        lines=len(rows),
        orders=len(orders),
    )


ERP_HEADER = "单据编号,单据日期,客户编码,客户名称,存货编码,数量,含税单价,金额(元),单据状态\n"


def _duplicates(rng: random.Random, out: Path, end: date) -> ShapeTruth:
    """Monthly files of one order per row; some rows exported twice; orders of a month's last days listed again in
    the next month's file, closed (作废)."""
    customers = [(f"K{i:04d}", f"客户{i:04d}有限公司") for i in range(1, 41)]
    months = [(end.year, m) for m in range(1, end.month + 1)]
    state: dict[str, tuple] = {}  # order id -> (customer, value, status) as last delivered
    rows_total, duplicates, redelivered = 0, 0, 0
    files, number = [], 1
    relist: list[tuple] = []
    for year, month in months:
        rows = []
        for order in relist:  # last month's late orders, closed after all
            order_id, customer, day, quantity, price, _ = order
            rows.append((order_id, customer, day, quantity, price, "作废"))
            state[order_id] = (customer, quantity * price, "作废")
            redelivered += 1
        relist = []
        for _ in range(rng.randint(25, 40)):
            customer = rng.choice(customers)
            day = date(year, month, rng.randint(1, 28))
            quantity, price = rng.randint(1, 20), Decimal(rng.randint(500, 40_000)) / 100
            order = (f"SO{year % 100:02d}{month:02d}{number:05d}", customer, day, quantity, price, "已审核")
            number += 1
            rows.append(order)
            state[order[0]] = (customer, quantity * price, "已审核")
            if day.day >= 26 and month < end.month and rng.random() < 0.3:
                relist.append(order)
        lines = [
            f"{o},{d:%Y-%m-%d},{c[0]},{c[1]},P-{rng.randint(1, 99):02d},{q},{p},{q * p},{s}\n"
            for o, c, d, q, p, s in rows
        ]
        repeated = rng.sample(range(len(lines)), 2)  # a re-export glitch: two rows written twice
        lines += [lines[i] for i in repeated]
        duplicates += len(repeated)
        rows_total += len(lines)
        name = f"erp_sales_{year}{month:02d}.csv"
        (out / name).write_bytes((ERP_HEADER + "".join(lines)).encode("gbk"))
        files.append(name)
    purchases = defaultdict(list)
    for customer, value, status in state.values():
        if status == "已审核":
            purchases[customer[0]].append(value)
    return ShapeTruth(
        "duplicates",
        files,
        {k: [str(v) for v in vs] for k, vs in purchases.items()},
        lines=rows_total,
        duplicates=duplicates,
        redelivered=redelivered,
        orders=len(state),
    )


REGISTRY_HEADER = "member_no,full_name,email,birthday,city,join_date\n"


def _registry_only(rng: random.Random, out: Path, end: date) -> ShapeTruth:
    """Each person registered one to three times (a new card, a second shop): the same e-mail, the name written
    with other spaces or case; no phone anywhere."""
    rows = []
    persons = 120
    for i in range(persons):
        first, last = rng.choice(["anna", "ben", "chloe", "david", "emma"]), rng.choice(["smith", "jones", "brown"])
        email = f"{first}.{last}{i}@example.org"
        born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 18_000))
        city = rng.choice(["Leeds", "York", "Bath"])
        for k in range(rng.choice([1, 1, 2, 3])):
            name = f"{first.title()} {last.title()}" if k == 0 else f"{first.upper()}  {last.title()}"
            joined = end - timedelta(days=rng.randint(30, 900))
            rows.append(f"M{i:04d}{k},{name},{email},{born:%d/%m/%Y},{city},{joined:%d/%m/%Y}\n")
    rng.shuffle(rows)
    (out / "members.csv").write_text(REGISTRY_HEADER + "".join(rows), encoding="utf-8")
    return ShapeTruth("registry_only", ["members.csv"], lines=len(rows), persons=persons)
