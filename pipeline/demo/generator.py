"""Deterministic, vectorised demo data of a Chinese multi-channel retailer, with the truth planted beside it.

Persons are drawn from personas (the RFM segment they were built to land in); every record any channel
writes about a person is listed in `truth/records.parquet` with the person behind it, so identity
resolution and cleaning can be scored. The pipeline never reads `truth/`.

Layout written under `out`:
    registry/members.csv                       member registry (UTF-8, English headers)
    marketplaces/tmall/tmall_orders_YYYYMM.csv whole orders, Chinese headers, GBK, masked phones
    marketplaces/jd/jd_order_lines_YYYYMM.csv  order lines, Chinese headers, UTF-8 with BOM
    marketplaces/pdd/pdd_export_YYYYMM.csv     whole orders, amounts in fen, status codes, ';' separated
    stores/pos_YYYYMM.csv                      POS receipt lines, some receipts without number, anonymous buyers
    dealers/<dealer>_sales_YYYY.xlsx           dealer reports, title rows above the header
    interactions/events_YYYYMM.jsonl           calls, e-mail, chat, WeChat, web visits, form fills (UTC times)
    service/tickets.csv, surveys/responses.csv, marketing/campaigns.csv, marketing/campaign_responses.csv,
    b2b/leads.csv, b2b/opportunities.csv
    truth/persons.parquet, truth/records.parquet, truth/dirty_rows.parquet

With `daily_from`, the dated channels (Tmall, JD, PDD, POS, interactions) put each day from that date on in a
file of its own (..._YYYYMMDD.csv) under increments/<YYYY-MM-DD>/, the path it takes once delivered: the
nightly simulation (pipeline/demo/simulate.py) delivers one day at a time. The registry, service, surveys,
marketing, B2B and dealer files are whole exports written once. With `drift_from`, the Tmall export carries no
buyer phone from that day on: a planted drift for monitoring.drift_alerts.
"""

from __future__ import annotations

import io
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

from pipeline.demo import vocab

PERSONAS = [
    "champion",
    "loyal",
    "potential_loyalist",
    "new",
    "at_risk",
    "hibernating",
    "lost",
    "b2b_account",
    "prospect",
]
PERSONA_SHARE = [0.08, 0.10, 0.12, 0.10, 0.12, 0.15, 0.13, 0.05, 0.15]
# Per persona: relative weight of further orders, mean order value (yuan), days since the last purchase
# (lo, hi), length of the active span before that (lo, hi), share registered as members. Every person but a
# prospect has one purchase exactly `last_days` ago (so recency is planted, not left to chance) and draws
# further orders by weight over the span. The shapes are set against the demo grading.yml's cut-offs (recency
# 30/90/180/365 days, frequency 2/4/8/16 orders, spend 300/1,000/3,000/8,000 yuan in the 730-day window) so
# that each persona's R score and F/M scores fall in the cell of the segment map it is named after.
PERSONA_SHAPE = {
    "champion": (16.0, 560.0, (0, 25), (450, 700), 0.95),
    "loyal": (4.5, 330.0, (35, 85), (450, 640), 0.90),
    "potential_loyalist": (1.2, 380.0, (0, 25), (20, 150), 0.75),
    "new": (0.0, 120.0, (0, 25), (0, 0), 0.60),
    "at_risk": (3.5, 420.0, (200, 340), (200, 360), 0.85),
    "hibernating": (0.0, 120.0, (200, 340), (0, 0), 0.65),
    "lost": (0.0, 120.0, (400, 700), (0, 0), 0.55),
    "b2b_account": (0.6, 6800.0, (0, 365), (300, 1000), 0.80),
    "prospect": (0.0, 0.0, (0, 120), (0, 0), 0.40),
}
# The segment_en (dbt seed rfm_segments_en) each persona is planted to land in; b2b accounts are graded by
# their own profile and prospects never buy, so neither has an intended segment.
INTENDED_SEGMENT = {
    "champion": "Champions",
    "loyal": "Loyal",
    "potential_loyalist": "Potential Loyalist",
    "new": "New",
    "at_risk": "At Risk",
    "hibernating": "Hibernating",
    "lost": "Lost",
}
CHANNELS = ["tmall", "jd", "pdd", "pos", "dealer"]
PRODUCT_GROUP_SIZE = 4  # vocab.PRODUCTS in groups of 4 consecutive products
PRODUCT_GROUPS = len(vocab.PRODUCTS) // PRODUCT_GROUP_SIZE
HEADER = {"dealer": 3}  # dealer sheets carry two title rows above the header


@dataclass(frozen=True)
class DemoSpec:
    customers: int = 20_000
    seed: int = 42
    orders: int | None = None  # default: 6 per customer
    end_date: date = date(2026, 6, 30)
    daily_from: date | None = None  # the dated channels' days from here on: one file per day, in increments/
    drift_from: date | None = None  # from this day, the Tmall export loses the buyer's phone (a planted drift)

    @property
    def n_orders(self) -> int:
        return self.orders if self.orders is not None else 6 * self.customers


def _label(values, codes: np.ndarray, name: str = "") -> pl.Series:
    """Strings from integer codes. Gathering from a small Series is far faster than numpy string arrays."""
    return pl.Series(name, list(values), dtype=pl.String).gather(codes)


def _pick(rng: np.random.Generator, values, n: int, p=None, name: str = "") -> pl.Series:
    return _label(values, rng.choice(len(values), size=n, p=p), name)


def _ts(end: date, days_ago: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Datetimes `days_ago` before the end of `end`, at a random time between 08:00 and 23:00."""
    base = np.datetime64(end, "s") + np.timedelta64(1, "D")
    secs = (days_ago * 86400).astype("int64") + rng.integers(3600, 16 * 3600, size=len(days_ago))
    return (base - secs.astype("timedelta64[s]")).astype("datetime64[us]")


def _draw(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """`n` draws of indices into `weights`, in ascending order.

    One multinomial draw then a repeat: ~15x faster than `rng.choice(p=...)` over a million weights, and the
    sorted result makes the gathers that follow sequential. Callers sort by time afterwards anyway.
    """
    counts = rng.multinomial(n, weights / weights.sum())
    return np.repeat(np.arange(len(weights), dtype=np.int64), counts)


def _mask_phone(phone: pl.Expr) -> pl.Expr:
    return phone.str.slice(0, 3) + "****" + phone.str.slice(7, 4)


# --------------------------------------------------------------------------------------------------------------
# persons
# --------------------------------------------------------------------------------------------------------------
def make_persons(spec: DemoSpec, rng: np.random.Generator) -> pl.DataFrame:
    n = spec.customers
    idx = np.arange(n, dtype=np.int64)
    which = rng.choice(len(PERSONAS), size=n, p=PERSONA_SHARE)
    sur = rng.integers(0, len(vocab.SURNAMES), n)
    given_len = rng.choice([1, 2], size=n, p=[0.35, 0.65])
    g1, g2 = _pick(rng, vocab.GIVEN, n), _pick(rng, vocab.GIVEN, n)
    # Phones: a random operator prefix and an 8-digit suffix that is unique per person (bijective in idx).
    suffix = (idx * 7_919_993 + int(rng.integers(0, 10**8))) % 10**8
    pc = rng.integers(0, len(vocab.PROVINCE_CITY), n)
    b2b = which == PERSONAS.index("b2b_account")
    shape = [PERSONA_SHAPE[p] for p in PERSONAS]
    weight, aov = np.array([s[0] for s in shape])[which], np.array([s[1] for s in shape])[which]
    last_lo, last_hi = np.array([s[2] for s in shape]).T[:, which]
    span_lo, span_hi = np.array([s[3] for s in shape]).T[:, which]
    member_share = np.array([s[4] for s in shape])[which]
    last_days = rng.uniform(last_lo, last_hi)
    span_days = rng.uniform(span_lo, span_hi)
    is_member = rng.random(n) < member_share
    df = pl.DataFrame(
        {
            "person_id": idx,
            "persona": _label(PERSONAS, which),
            "surname": _label([s for s, _ in vocab.SURNAMES], sur),
            "pinyin": _label([p for _, p in vocab.SURNAMES], sur),
            "given": pl.select(pl.when(pl.lit(given_len) == 1).then(g1).otherwise(g1 + g2)).to_series(),
            "gender": rng.choice(["男", "女"], size=n),
            "birth_date": (np.datetime64("1958-01-01") + rng.integers(0, 48 * 365, n).astype("timedelta64[D]")),
            "phone_prefix": _pick(rng, vocab.MOBILE_PREFIXES, n),
            "phone_suffix": suffix,
            "email_domain": _pick(rng, vocab.EMAIL_DOMAINS, n),
            "province": _label([p for p, _ in vocab.PROVINCE_CITY], pc),
            "city": _label([c for _, c in vocab.PROVINCE_CITY], pc),
            "street": _pick(rng, vocab.STREETS, n),
            "house_no": rng.integers(1, 999, n),
            "occupation": _pick(rng, vocab.OCCUPATIONS, n),
            "is_b2b": b2b,
            "company_word": _pick(rng, vocab.COMPANY_WORDS, n),
            "industry": _pick(rng, vocab.INDUSTRIES, n),
            "company_size": _pick(rng, vocab.COMPANY_SIZES, n),
            "is_member": is_member,
            "has_unionid": rng.random(n) < 0.5,
            "order_weight": weight * rng.gamma(12.0, 1 / 12, n),
            "aov": aov * rng.uniform(0.6, 1.4, n),
            "last_days": last_days,
            "span_days": span_days,
            "home_channel": np.where(b2b, CHANNELS.index("dealer"), rng.choice(4, size=n, p=[0.35, 0.25, 0.15, 0.25])),
            "consent_marketing": rng.random(n) < 0.7,
            "consent_sms": rng.random(n) < 0.6,
            "points": rng.integers(0, 20000, n),
        }
    )
    return df.with_columns(
        pl.format("P{}", pl.col("person_id").cast(pl.String).str.zfill(8)).alias("person_key"),
        (pl.col("surname") + pl.col("given")).alias("name"),
        (pl.col("phone_prefix") + pl.col("phone_suffix").cast(pl.String).str.zfill(8)).alias("phone"),
        pl.format("{}{}@{}", pl.col("pinyin"), (pl.col("person_id") * 7919 % 10**7), pl.col("email_domain")).alias(
            "email"
        ),
        pl.when(pl.col("is_member"))
        .then(pl.format("M{}", (pl.col("person_id") + 10_000_000).cast(pl.String)))
        .alias("member_id"),
        pl.when(pl.col("has_unionid"))
        .then(pl.format("oUn{}", (pl.col("person_id") * 2_654_435_761 % 16**12).cast(pl.String)))
        .alias("wechat_unionid"),
        pl.when(pl.col("is_b2b"))
        .then(pl.col("city") + pl.col("company_word") + pl.col("industry") + "有限公司")
        .alias("company_name"),
        pl.format("{}{}", pl.col("pinyin"), (pl.col("person_id") * 104_729 % 10**6)).alias("nick"),
        (
            pl.col("province") + pl.col("city") + "市" + pl.col("street") + pl.col("house_no").cast(pl.String) + "号"
        ).alias("address"),
        pl.when(pl.col("persona").is_in(["champion", "loyal"]))
        .then(pl.lit("金卡会员"))
        .when(pl.col("persona") == "b2b_account")
        .then(pl.lit("钻石会员"))
        .when(pl.col("persona").is_in(["potential_loyalist", "at_risk"]))
        .then(pl.lit("银卡会员"))
        .otherwise(pl.lit("普通会员"))
        .alias("member_level"),
    )


# --------------------------------------------------------------------------------------------------------------
# orders (one row per order, before channel layouts)
# --------------------------------------------------------------------------------------------------------------
def make_orders(spec: DemoSpec, persons: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    m = spec.n_orders
    # One completed purchase exactly last_days ago per buying person, then the rest drawn by weight over the
    # person's active span before it: the planted recency is the last purchase's.
    anchors = np.flatnonzero(persons["persona"].to_numpy() != "prospect")
    w = persons["order_weight"].to_numpy()
    further = _draw(rng, w, max(m - len(anchors), 0))
    who = np.concatenate([anchors, further])
    is_anchor = np.arange(len(who)) < len(anchors)
    m = len(who)
    last = persons["last_days"].to_numpy()[who]
    span = persons["span_days"].to_numpy()[who]
    days_ago = last + np.where(is_anchor, 0.0, rng.random(m) * span)
    amount = np.round(persons["aov"].to_numpy()[who] * rng.lognormal(-0.08, 0.4, m), 2)
    home = persons["home_channel"].to_numpy()[who]
    channel = np.where(rng.random(m) < 0.7, home, rng.integers(0, 4, m))
    status = rng.choice(4, size=m, p=[0.88, 0.05, 0.05, 0.02])  # completed, cancelled, refunded, partially_refunded
    status = np.where(is_anchor, 0, status)
    refund = np.where(status == 2, amount, np.where(status == 3, np.round(amount * 0.3, 2), 0))
    # Each person favours one product group (person_id % groups): 80% of their orders come from it, so
    # customers of a taste buy the group's products together (what the co-purchase recommendations find).
    taste = who % PRODUCT_GROUPS
    in_group = PRODUCT_GROUP_SIZE * taste + rng.integers(0, PRODUCT_GROUP_SIZE, m)
    product = np.where(rng.random(m) < 0.8, in_group, rng.integers(0, len(vocab.PRODUCTS), m))
    return (
        pl.DataFrame(
            {
                "person_id": who.astype(np.int64),
                "channel": _label(CHANNELS, channel),
                "ordered_at": _ts(spec.end_date, days_ago, rng),
                "amount": amount,
                "refund_amount": refund.astype(float),
                "status": _label(["completed", "cancelled", "refunded", "partially_refunded"], status),
                "product": product,
                "n_lines": rng.choice([1, 1, 1, 2, 2, 3], size=m),
                "mask": rng.random(m),
                "show_card": rng.random(m),
            }
        )
        .sort("ordered_at", "person_id", maintain_order=True)  # order ids grow with time, as in real exports
        .with_row_index("order_seq")
    )


# --------------------------------------------------------------------------------------------------------------
# writing helpers
# --------------------------------------------------------------------------------------------------------------
def _add_row_numbers(df: pl.DataFrame, header_row: int = 1) -> pl.DataFrame:
    """The row a person opening the file sees the record on (header on `header_row`)."""
    return df.with_columns((pl.int_range(pl.len()).over("file") + header_row + 1).alias("row_number"))


def _write_csv(df: pl.DataFrame, path: Path, encoding: str = "utf-8", separator: str = ",") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if encoding == "utf-8":
        df.write_csv(path, separator=separator)
        return
    buf = io.BytesIO()
    df.write_csv(buf, separator=separator)
    text = buf.getvalue().decode("utf-8")
    with open(path, "wb") as fh:
        if encoding == "utf-8-sig":
            fh.write(b"\xef\xbb\xbf" + text.encode("utf-8"))
        else:
            fh.write(text.encode(encoding))


def _write_per_file(df: pl.DataFrame, root: Path, **kw) -> None:
    """Write each value of column `file` as its own file, with every other column."""
    for (file,), part in df.partition_by("file", as_dict=True, maintain_order=True).items():
        _write_csv(part.drop("file"), root / file, **kw)


def _line_amount() -> pl.Expr:
    """An order's amount split over its lines; the last line takes the rounding remainder."""
    base = (pl.col("amount") / pl.col("n_lines")).round(2)
    last = pl.col("line") == pl.col("n_lines") - 1
    return (
        pl.when(last)
        .then(pl.col("amount") - base * (pl.col("n_lines") - 1))
        .otherwise(base)
        .round(2)
        .alias("line_amount")
    )


def _line_product() -> pl.Expr:
    """The product of an order's further lines: the next products of the first line's group."""
    size = PRODUCT_GROUP_SIZE
    group_start = pl.col("product") // size * size
    return (group_start + (pl.col("product") - group_start + pl.col("line")) % size).alias("line_product")


def _product_name(col: str = "product") -> pl.Expr:
    return pl.col(col).replace_strict(dict(enumerate(p[1] for p in vocab.PRODUCTS)), return_dtype=pl.String)


def _plant_defects(df: pl.DataFrame, rng: np.random.Generator, share: float, defects: dict[str, dict]) -> pl.DataFrame:
    """Give a `share` of rows one defect each; `defects` maps defect name -> {column: expression}."""
    n = df.height
    names = list(defects)
    hit = rng.random(n) < share
    kind = np.where(hit, np.asarray(names)[rng.integers(0, len(names), n)], "")
    df = df.with_columns(pl.Series("defect", kind).replace("", None))
    for name, changes in defects.items():
        df = df.with_columns(
            [
                pl.when(pl.col("defect") == name).then(expr).otherwise(pl.col(col)).alias(col)
                for col, expr in changes.items()
            ]
        )
    return df


def _duplicate_rows(df: pl.DataFrame, rng: np.random.Generator, share: float, sort_by: list[str]) -> pl.DataFrame:
    """Repeat a `share` of rows verbatim (a re-export glitch); the copy is marked as defect 'exact_duplicate'."""
    pick = np.flatnonzero(rng.random(df.height) < share)
    copies = df[pick].with_columns(pl.lit("exact_duplicate").alias("defect"), pl.lit(1).alias("_copy"))
    out = pl.concat([df.with_columns(pl.lit(0).alias("_copy")), copies], how="vertical_relaxed")
    return out.sort([*sort_by, "_copy"]).drop("_copy")


class Truth:
    """Collects truth rows from every writer (writers run on several threads; `records()` orders by source)."""

    def __init__(self) -> None:
        self._records: dict[str, pl.DataFrame] = {}

    def add(self, source: str, df: pl.DataFrame, record_id: str) -> None:
        cols = [
            pl.lit(source).alias("source"),
            pl.col("file"),
            pl.col("row_number").cast(pl.Int64),
            pl.col(record_id).cast(pl.String).alias("record_id"),
            pl.col("person_id").cast(pl.Int64),
            (pl.col("defect") if "defect" in df.columns else pl.lit(None, pl.String)).alias("defect"),
            (pl.col("is_duplicate_record") if "is_duplicate_record" in df.columns else pl.lit(False)).alias(
                "is_duplicate_record"
            ),
        ]
        self._records[source] = df.select(cols)

    def records(self) -> pl.DataFrame:
        return pl.concat([self._records[s] for s in sorted(self._records)], rechunk=False)


def _month_file(prefix: str, ts: str = "ordered_at", ext: str = "csv", daily_from: date | None = None) -> pl.Expr:
    """One file per month; from `daily_from` on, one per day (named _YYYYMMDD, moved to increments/)."""
    monthly = pl.format("{}{}.{}", pl.lit(prefix), pl.col(ts).dt.strftime("%Y%m"), pl.lit(ext))
    if daily_from is None:
        return monthly
    daily = pl.format("{}{}.{}", pl.lit(prefix), pl.col(ts).dt.strftime("%Y%m%d"), pl.lit(ext))
    return pl.when(pl.col(ts).dt.date() >= daily_from).then(daily).otherwise(monthly)


_DAILY_FILE = re.compile(r"_(\d{8})\.[a-z]+$")


def _move_daily_files(out: Path, daily_from: date) -> int:
    """Move the per-day files to increments/<YYYY-MM-DD>/<their path>; returns how many."""
    moved = 0
    for path in sorted(p for p in out.rglob("*") if p.is_file() and "increments" not in p.parts):
        match = _DAILY_FILE.search(path.name)
        if not match:
            continue
        day = datetime.strptime(match.group(1), "%Y%m%d").date()
        if day >= daily_from:
            target = out / "increments" / day.isoformat() / path.relative_to(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
            moved += 1
    return moved


# --------------------------------------------------------------------------------------------------------------
# one writer per source
# --------------------------------------------------------------------------------------------------------------
def write_registry(out: Path, persons: pl.DataFrame, rng: np.random.Generator, truth: Truth, end: date) -> None:
    members = persons.filter(pl.col("is_member")).with_columns(
        pl.lit(False).alias("is_duplicate_record"),
        pl.Series("registered_at", _ts(end, rng.uniform(0, 1400, persons["is_member"].sum()), rng)),
    )
    # Planted duplicates: 3% register a second time, with a typo in the name and the phone written differently.
    dups = members.sample(fraction=0.03, seed=int(rng.integers(1 << 31))).with_columns(
        pl.format("M{}", (pl.col("person_id") + 90_000_000).cast(pl.String)).alias("member_id"),
        (pl.col("surname") + pl.col("given").str.slice(0, 1) + pl.lit("华")).alias("name"),
        pl.format(
            "+86 {}-{}-{}",
            pl.col("phone").str.slice(0, 3),
            pl.col("phone").str.slice(3, 4),
            pl.col("phone").str.slice(7, 4),
        ).alias("phone"),
        pl.col("email").str.to_uppercase().alias("email"),
        pl.lit(True).alias("is_duplicate_record"),
    )
    df = (
        pl.concat([members, dups])
        .sort("registered_at", "member_id")
        .with_columns(pl.lit("registry/members.csv").alias("file"))
    )
    df = _plant_defects(
        df,
        rng,
        0.005,
        {
            "invalid_phone": {"phone": pl.col("phone").str.slice(0, 10)},
            "invalid_email": {"email": pl.col("email").str.replace("@", "#")},
            "birth_date_in_future": {"birth_date": pl.lit(date(2031, 5, 1))},
            "missing_name": {"name": pl.lit(None, pl.String)},
        },
    )
    df = _add_row_numbers(df)
    truth.add("members", df, "member_id")
    _write_csv(
        df.select(
            pl.col("member_id").alias("member_no"),
            pl.col("name").alias("full_name"),
            pl.col("phone").alias("mobile"),
            "email",
            pl.col("gender").alias("sex"),
            pl.col("birth_date").dt.strftime("%Y-%m-%d").alias("birthday"),
            "province",
            "city",
            "occupation",
            pl.col("company_name").alias("company"),
            pl.when(pl.col("is_b2b")).then(pl.col("industry")).alias("industry"),
            pl.when(pl.col("is_b2b")).then(pl.col("company_size")).alias("company_size"),
            pl.col("member_level").alias("level"),
            "points",
            pl.col("wechat_unionid").alias("unionid"),
            pl.when(pl.col("consent_marketing")).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("marketing_opt_in"),
            pl.when(pl.col("consent_sms")).then(pl.lit("Y")).otherwise(pl.lit("N")).alias("sms_opt_in"),
            pl.col("registered_at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("created_at"),
        ),
        out / "registry/members.csv",
    )


ORDER_DEFECTS = {
    "negative_amount": {"amount": -pl.col("amount")},
    "unparseable_date": {"ordered_at_text": pl.lit("2024-13-45 25:61:00")},
    "date_in_future": {"ordered_at_text": pl.lit("2031-01-01 10:00:00")},
}


# The person attributes the channel writers print; joining only these keeps the order frames narrow.
ORDER_PERSON_COLUMNS = [
    "person_id",
    "name",
    "phone",
    "nick",
    "address",
    "province",
    "city",
    "member_id",
    "is_member",
    "company_name",
]


def _orders_for(orders: pl.DataFrame, persons: pl.DataFrame, channel: str) -> pl.DataFrame:
    return (
        orders.filter(pl.col("channel") == channel)
        .join(persons.select(ORDER_PERSON_COLUMNS), on="person_id", how="left")
        .sort("ordered_at", "order_seq")
    )


def write_tmall(out, orders, persons, rng, truth, daily_from=None, drift_from=None):
    phone = pl.when(pl.col("mask") < 0.7).then(_mask_phone(pl.col("phone"))).otherwise(pl.col("phone"))
    if drift_from is not None:  # the planted drift: the export stops carrying the buyer's phone
        phone = pl.when(pl.col("ordered_at").dt.date() >= drift_from).then(pl.lit(None, pl.String)).otherwise(phone)
    df = _orders_for(orders, persons, "tmall").with_columns(
        (pl.lit("3") + (pl.col("order_seq") + 10**17).cast(pl.String).str.slice(1)).alias("order_id"),
        phone.alias("phone_out"),
        pl.col("ordered_at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("ordered_at_text"),
        pl.col("status")
        .replace_strict(
            {"completed": "交易成功", "cancelled": "交易关闭", "refunded": "退款成功", "partially_refunded": "部分退款"}
        )
        .alias("status_cn"),
        _month_file("marketplaces/tmall/tmall_orders_", daily_from=daily_from).alias("file"),
    )
    df = _plant_defects(df, rng, 0.003, ORDER_DEFECTS)
    df = _duplicate_rows(df, rng, 0.001, ["file", "ordered_at", "order_seq"])
    df = _add_row_numbers(df)
    truth.add("tmall", df, "order_id")
    _write_per_file(
        df.select(
            pl.col("order_id").alias("订单编号"),
            pl.col("nick").alias("买家会员名"),
            pl.col("name").alias("收货人姓名"),
            pl.col("phone_out").alias("收货人手机"),
            pl.col("address").alias("收货地址"),
            pl.col("amount").alias("实付金额"),
            pl.col("refund_amount").alias("退款金额"),
            pl.col("status_cn").alias("订单状态"),
            pl.col("ordered_at_text").alias("订单创建时间"),
            _product_name().alias("宝贝标题"),
            pl.col("n_lines").alias("宝贝数量"),
            "file",
        ),
        out,
        encoding="gbk",
    )


def write_jd(out, orders, persons, rng, truth, daily_from=None):
    df = _orders_for(orders, persons, "jd").with_columns(
        (pl.col("order_seq") + 2 * 10**11).cast(pl.String).alias("order_id"),
        pl.when(pl.col("mask") < 0.5).then(_mask_phone(pl.col("phone"))).otherwise(pl.col("phone")).alias("phone_out"),
        pl.col("ordered_at").dt.strftime("%Y/%m/%d %H:%M:%S").alias("ordered_at_text"),
        pl.col("status")
        .replace_strict(
            {"completed": "完成", "cancelled": "已取消", "refunded": "退款完成", "partially_refunded": "完成"}
        )
        .alias("status_cn"),
        _month_file("marketplaces/jd/jd_order_lines_", daily_from=daily_from).alias("file"),
    )
    # One row per order line; the last line takes the rounding remainder so lines add up to the order.
    df = df.with_columns(pl.int_ranges(0, pl.col("n_lines")).alias("line")).explode("line")
    df = df.with_columns(_line_amount(), _line_product())
    df = _plant_defects(df, rng, 0.003, {**ORDER_DEFECTS, "negative_amount": {"line_amount": -pl.col("line_amount")}})
    df = _add_row_numbers(df)
    truth.add("jd", df, "order_id")
    sku = pl.col("line_product").replace_strict(dict(enumerate(p[0] for p in vocab.PRODUCTS)), return_dtype=pl.String)
    _write_per_file(
        df.select(
            pl.col("order_id").alias("订单号"),
            (pl.lit("jd_") + pl.col("nick")).alias("下单帐号"),
            pl.col("name").alias("客户姓名"),
            pl.col("phone_out").alias("联系电话"),
            sku.alias("商品编号"),
            _product_name("line_product").alias("商品名称"),
            pl.lit(1).alias("购买数量"),
            pl.col("line_amount").alias("京东价"),
            pl.col("line_amount").alias("应付金额"),
            pl.col("status_cn").alias("订单状态"),
            pl.col("ordered_at_text").alias("下单时间"),
            pl.col("province").alias("省"),
            pl.col("city").alias("市"),
            "file",
        ),
        out,
        encoding="utf-8-sig",
    )


def write_pdd(out, orders, persons, rng, truth, end: date, daily_from=None):
    recent = pl.col("ordered_at") > pl.lit(datetime.combine(end, datetime.min.time())) - pl.duration(days=15)
    df = _orders_for(orders, persons, "pdd").with_columns(
        pl.format("{}-{}", pl.col("ordered_at").dt.strftime("%y%m%d"), pl.col("order_seq")).alias("order_id"),
        _mask_phone(pl.col("phone")).alias("phone_out"),
        pl.col("ordered_at").dt.strftime("%Y%m%d%H%M%S").alias("ordered_at_text"),
        pl.when(pl.col("status") == "completed")
        .then(pl.when(recent).then(pl.lit(2)).otherwise(pl.lit(3)))
        .when(pl.col("status") == "cancelled")
        .then(pl.lit(4))
        .when(pl.col("status") == "refunded")
        .then(pl.lit(5))
        .otherwise(pl.lit(6))
        .alias("status_code"),
        _month_file("marketplaces/pdd/pdd_export_", daily_from=daily_from).alias("file"),
    )
    df = _plant_defects(
        df,
        rng,
        0.003,
        {
            **ORDER_DEFECTS,
            "unparseable_date": {"ordered_at_text": pl.lit("20241345256100")},
            "date_in_future": {"ordered_at_text": pl.lit("20310101100000")},
        },
    )
    df = _add_row_numbers(df)
    truth.add("pdd", df, "order_id")
    _write_per_file(
        df.select(
            pl.col("order_id").alias("订单号"),
            (pl.lit("pdd") + pl.col("nick")).alias("用户ID"),
            pl.col("name").alias("收件人"),
            pl.col("phone_out").alias("手机号"),
            _product_name().alias("商品"),
            pl.col("n_lines").alias("数量"),
            (pl.col("amount") * 100).round(0).cast(pl.Int64).alias("订单金额(分)"),
            (pl.col("refund_amount") * 100).round(0).cast(pl.Int64).alias("退款金额(分)"),
            pl.col("status_code").alias("订单状态码"),
            pl.col("ordered_at_text").alias("成交时间"),
            "file",
        ),
        out,
        separator=";",
    )


def write_pos(out, orders, persons, rng, truth, daily_from=None):
    df = _orders_for(orders, persons, "pos")
    store = rng.integers(0, len(vocab.STORES), df.height)
    df = df.with_columns(
        pl.Series("store", store),
        pl.format("R{}", pl.col("order_seq")).alias("receipt_no"),
        _month_file("stores/pos_", daily_from=daily_from).alias("file"),
        pl.col("ordered_at").dt.strftime("%d/%m/%Y %H:%M").alias("ordered_at_text"),
    ).with_columns(
        pl.when(pl.col("is_member") & (pl.col("show_card") < 0.6)).then(pl.col("member_id")).alias("card"),
        pl.when((pl.col("show_card") >= 0.6) & (pl.col("show_card") < 0.75))
        .then(pl.col("phone"))
        .alias("member_phone"),
        pl.col("status")
        .replace_strict({"completed": "S", "cancelled": "V", "refunded": "R", "partially_refunded": "S"})
        .alias("status_code"),
    )
    df = df.with_columns(pl.int_ranges(0, pl.col("n_lines")).alias("line")).explode("line")
    n = df.height
    # The receipt's lines share the order's amount (the person's spending), as quantity x unit price.
    df = df.with_columns(pl.Series("qty", rng.choice([1, 1, 1, 2, 3], size=n)), _line_amount(), _line_product())
    df = df.with_columns((pl.col("line_amount") / pl.col("qty")).round(2).alias("unit_price"))
    # Some receipts lose their number in the export: the loader derives an id from file and row.
    df = df.with_columns(pl.when(pl.col("mask") < 0.03).then(None).otherwise(pl.col("receipt_no")).alias("receipt_no"))
    df = _plant_defects(
        df,
        rng,
        0.003,
        {
            "unparseable_date": {"ordered_at_text": pl.lit("31/02/2024 25:00")},
            "non_numeric_quantity": {"qty": pl.lit(None, pl.Int64)},
        },
    )
    df = df.with_columns(
        pl.when(pl.col("defect") == "non_numeric_quantity")
        .then(pl.lit("two"))
        .otherwise(pl.col("qty").cast(pl.String))
        .alias("qty_text")
    )
    df = _add_row_numbers(df)
    truth.add("pos", df, "receipt_no")
    sku = pl.col("line_product").replace_strict(dict(enumerate(p[0] for p in vocab.PRODUCTS)), return_dtype=pl.String)
    _write_per_file(
        df.select(
            "receipt_no",
            pl.col("store")
            .replace_strict(dict(enumerate(s for s, _ in vocab.STORES)), return_dtype=pl.String)
            .alias("store_code"),
            pl.col("card").alias("member_card"),
            "member_phone",
            sku.alias("sku"),
            _product_name("line_product").alias("item_name"),
            pl.col("qty_text").alias("qty"),
            "unit_price",
            pl.col("status_code").alias("txn_type"),
            pl.col("ordered_at_text").alias("sold_at"),
            "file",
        ),
        out,
    )


def write_dealers(out, orders, persons, rng, truth):
    """Dealer reports: one workbook per dealer and year, completed sales only, net of refunds."""
    df = (
        _orders_for(orders, persons, "dealer")
        .filter(pl.col("status") != "cancelled")
        .with_columns(
            (pl.col("person_id") % len(vocab.DEALERS)).alias("dealer"),
            pl.col("ordered_at").dt.year().alias("year"),
            pl.format("INV{}", pl.col("order_seq")).alias("invoice_no"),
            (pl.col("amount") - pl.col("refund_amount")).round(2).alias("net_amount"),
        )
    )
    df = df.with_columns(
        pl.format(
            "dealers/{}_sales_{}.xlsx",
            pl.col("dealer").replace_strict(dict(enumerate(d for d, _ in vocab.DEALERS)), return_dtype=pl.String),
            pl.col("year"),
        ).alias("file")
    ).sort("file", "ordered_at", "order_seq")
    df = _add_row_numbers(df, header_row=HEADER["dealer"])
    truth.add("dealer", df, "invoice_no")
    header = ["Invoice No", "Customer", "Contact Person", "Tel", "Invoice Date", "Product", "Qty", "Net Amount (CNY)"]
    excel_epoch = date(1899, 12, 30)
    for (file,), part in df.partition_by("file", as_dict=True, maintain_order=True).items():
        path = out / file
        path.parent.mkdir(parents=True, exist_ok=True)
        title = dict(vocab.DEALERS)[file.split("/")[1].split("_")[0]]
        rows = part.select(
            "invoice_no",
            "company_name",
            "name",
            "phone",
            (pl.col("ordered_at").dt.date() - pl.lit(excel_epoch)).dt.total_days().alias("serial"),
            _product_name(),
            "n_lines",
            "net_amount",
        ).rows()
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        ws = wb.add_worksheet("销售明细")
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        ws.write_row(0, 0, [f"{title} 销售报表 {part['year'][0]}"])
        ws.write_row(2, 0, header)
        for r, row in enumerate(rows, start=3):
            ws.write_row(r, 0, row[:4])
            ws.write_number(r, 4, row[4], date_fmt)
            ws.write_row(r, 5, row[5:])
        wb.close()


def write_interactions(out, spec, persons, rng, truth):
    n = int(spec.n_orders * 0.4)
    persona_boost = {
        "champion": 3.0,
        "loyal": 2.0,
        "potential_loyalist": 2.5,
        "new": 2.0,
        "at_risk": 1.0,
        "hibernating": 0.5,
        "lost": 0.3,
        "prospect": 1.5,
        "b2b_account": 3.0,
    }
    w = persons["persona"].replace_strict(persona_boost, return_dtype=pl.Float64).to_numpy()
    who = _draw(rng, w, n)
    p = persons.select("person_id", "member_id", "phone", "email", "last_days")[who]
    kind = _pick(
        rng, ["call", "email", "chat", "wechat", "web_visit", "contact_form"], n, [0.15, 0.15, 0.15, 0.2, 0.3, 0.05]
    )
    ref = rng.random(n)
    days_ago = p["last_days"].to_numpy() * rng.uniform(0.5, 1.2, n) + rng.uniform(0, 120, n)
    df = (
        p.select("person_id", "member_id", "phone", "email")
        .with_columns(
            kind.alias("kind"),
            pl.Series("ref", ref),
            pl.Series("at", _ts(spec.end_date, np.maximum(days_ago, 0), rng)),
            pl.Series("duration", rng.integers(10, 1800, n)),
            _label(["inbound", "outbound"], (rng.random(n) >= 0.7).astype(np.int64), "direction"),
        )
        .sort("at")
        .with_row_index("seq")
        .with_columns(
            pl.format("E{}", pl.col("seq") + 1).alias("event_id"),
            _month_file("interactions/events_", "at", "jsonl", spec.daily_from).alias("file"),
            (pl.col("at") - pl.duration(hours=8)).dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("ts"),
        )
    )
    # Which identifier the event carries depends on the channel; web visits are often anonymous. An e-mail
    # address reaches the log only when the company has it on file (a member's registration): a person
    # known by no identifier seen elsewhere is a different contact for any matcher, so the truth would
    # plant persons no data can reveal. Chats and forms of non-members ask for the mobile instead.
    written = pl.col("kind").is_in(["email", "contact_form", "chat"]) & (pl.col("ref") >= 0.3)
    on_file = pl.col("member_id").is_not_null()
    df = df.with_columns(
        pl.when(pl.col("ref") < 0.5).then(pl.col("member_id")).alias("memberId"),
        pl.when(
            (pl.col("kind").is_in(["call", "wechat", "contact_form"]) & (pl.col("ref") >= 0.5)) | (written & ~on_file)
        )
        .then(pl.col("phone"))
        .alias("mobile"),
        pl.when(written & on_file).then(pl.col("email")).alias("emailAddress"),
    )
    df = _plant_defects(df, rng, 0.003, {"unparseable_date": {"ts": pl.lit("yesterday")}})
    df = df.with_columns((pl.int_range(pl.len()).over("file") + 1).alias("row_number"))
    truth.add("interactions", df, "event_id")
    outcome = (
        pl.when(pl.col("kind") == "contact_form")
        .then(pl.lit("form_submitted"))
        .when(pl.col("kind") == "call")
        .then(pl.lit("answered"))
        .otherwise(None)
    )
    for (file,), part in df.partition_by("file", as_dict=True, maintain_order=True).items():
        path = out / file
        path.parent.mkdir(parents=True, exist_ok=True)
        part.select(
            pl.col("event_id").alias("eventId"),
            "memberId",
            "mobile",
            pl.col("emailAddress").alias("email"),
            pl.col("kind").alias("eventType"),
            "direction",
            "ts",
            pl.when(pl.col("kind") == "call").then(pl.col("duration")).alias("durationSec"),
            outcome.alias("outcome"),
        ).write_ndjson(path)


def _event_people(persons, rng, n, boost: dict[str, float]):
    w = persons["persona"].replace_strict({k: float(v) for k, v in boost.items()}, return_dtype=pl.Float64).to_numpy()
    slim = persons.select("person_id", "persona", "member_id", "phone", "last_days")
    return slim[_draw(rng, w, n)]


def write_service(out, spec, persons, rng, truth):
    n = max(int(spec.n_orders * 0.04), 10)
    p = _event_people(
        persons,
        rng,
        n,
        {
            "champion": 1,
            "loyal": 1,
            "potential_loyalist": 1,
            "new": 1,
            "at_risk": 3,
            "hibernating": 1,
            "lost": 1.5,
            "prospect": 0.2,
            "b2b_account": 2,
        },
    )
    cat = rng.choice(len(vocab.TICKET_CATEGORIES), size=n, p=[0.4, 0.2, 0.15, 0.15, 0.1])
    complaint = vocab.TICKET_CATEGORIES.index("投诉")
    cat = np.where((p["persona"].to_numpy() == "at_risk") & (rng.random(n) < 0.3), complaint, cat)
    opened = _ts(spec.end_date, p["last_days"].to_numpy() + rng.uniform(0, 200, n), rng)
    hours = rng.lognormal(3, 1, n)
    resolved = opened + (hours * 3600).astype("timedelta64[s]")
    open_now = rng.random(n) < 0.05
    df = (
        p.select("person_id", "member_id", "phone")
        .with_columns(
            _label(vocab.TICKET_CATEGORIES, cat, "category"),
            pl.Series("opened_at", opened),
            pl.Series("resolved_at", resolved),
            pl.Series("open_now", open_now),
            _pick(rng, ["电话", "在线客服", "微信", "门店"], n, name="channel"),
        )
        .sort("opened_at")
        .with_row_index("seq")
        .with_columns(
            pl.format("T{}", pl.col("seq") + 100000).alias("ticket_id"), pl.lit("service/tickets.csv").alias("file")
        )
    )
    df = _add_row_numbers(df)
    truth.add("service", df, "ticket_id")
    fmt = "%Y-%m-%d %H:%M"
    _write_csv(
        df.select(
            pl.col("ticket_id").alias("工单号"),
            pl.col("member_id").alias("会员号"),
            pl.col("phone").alias("来电号码"),
            pl.col("category").alias("问题类别"),
            pl.when(pl.col("category") == "投诉").then(pl.lit("是")).otherwise(pl.lit("否")).alias("是否投诉"),
            pl.col("channel").alias("受理渠道"),
            pl.when(pl.col("open_now")).then(pl.lit("处理中")).otherwise(pl.lit("已解决")).alias("工单状态"),
            pl.col("opened_at").dt.strftime(fmt).alias("创建时间"),
            pl.when(pl.col("open_now")).then(None).otherwise(pl.col("resolved_at").dt.strftime(fmt)).alias("解决时间"),
        ),
        out / "service/tickets.csv",
    )


def write_surveys(out, spec, persons, rng, truth):
    n = max(int(spec.n_orders * 0.05), 10)
    p = _event_people(
        persons,
        rng,
        n,
        {
            "champion": 3,
            "loyal": 2,
            "potential_loyalist": 1,
            "new": 1,
            "at_risk": 1.5,
            "hibernating": 0.5,
            "lost": 0.3,
            "prospect": 0.3,
            "b2b_account": 1,
        },
    )
    mood = (
        p["persona"]
        .replace_strict(
            {
                "champion": 0.9,
                "loyal": 0.8,
                "potential_loyalist": 0.7,
                "new": 0.7,
                "at_risk": 0.35,
                "hibernating": 0.5,
                "lost": 0.3,
                "prospect": 0.3,
                "b2b_account": 0.7,
            },
            return_dtype=pl.Float64,
        )
        .to_numpy()
    )
    level = np.clip(mood + rng.normal(0, 0.2, n), 0, 1)
    is_nps = rng.random(n) < 0.6
    score = np.where(is_nps, np.round(level * 10), 1 + np.round(level * 4)).astype(int)
    ref = rng.random(n)
    df = (
        p.select("person_id", "member_id", "phone")
        .with_columns(
            pl.Series("survey", np.where(is_nps, "NPS", "CSAT")),
            pl.Series("score", score),
            pl.Series("at", _ts(spec.end_date, p["last_days"].to_numpy() + rng.uniform(0, 90, n), rng)),
            pl.Series("ref", ref),
        )
        .sort("at")
        .with_row_index("seq")
        .with_columns(
            pl.format("S{}", pl.col("seq") + 1).alias("response_id"), pl.lit("surveys/responses.csv").alias("file")
        )
    )
    df = _add_row_numbers(df)
    truth.add("surveys", df, "response_id")
    _write_csv(
        df.select(
            "response_id",
            pl.when(pl.col("ref") < 0.6).then(pl.col("member_id")).alias("member_no"),
            pl.when(pl.col("ref") >= 0.4).then(pl.col("phone")).alias("mobile"),
            "survey",
            "score",
            pl.when(pl.col("score") <= 3)
            .then(pl.lit("不满意"))
            .when(pl.col("score") >= 9)
            .then(pl.lit("很满意"))
            .alias("comment"),
            pl.col("at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("submitted_at"),
        ),
        out / "surveys/responses.csv",
    )


def write_marketing(out, spec, persons, rng, truth):
    k = 16
    start = np.datetime64(spec.end_date, "D") - (np.arange(k)[::-1] * 60 + 30).astype("timedelta64[D]")
    campaigns = pl.DataFrame(
        {
            "campaign_id": [f"C{i + 1:03d}" for i in range(k)],
            "campaign_name": [f"{2020 + int(str(s)[:4]) - 2020}年{int(str(s)[5:7])}月会员活动" for s in start],
            "channel": _pick(rng, vocab.CAMPAIGN_CHANNELS, k),
            "start_date": start,
            "end_date": start + np.timedelta64(14, "D"),
            "budget": np.round(rng.uniform(20000, 200000, k), 2),
        }
    )
    _write_csv(
        campaigns.with_columns(pl.col("start_date").cast(pl.String), pl.col("end_date").cast(pl.String)),
        out / "marketing/campaigns.csv",
    )
    targeted = persons.filter(pl.col("is_member") & pl.col("consent_marketing"))
    parts = []
    for i, row in enumerate(campaigns.iter_rows(named=True)):
        t = targeted.sample(fraction=0.2, seed=int(rng.integers(1 << 31)))
        r = rng.random(t.height)
        parts.append(
            t.select("person_id", "member_id", "phone", "persona").with_columns(
                pl.lit(row["campaign_id"]).alias("campaign_id"),
                pl.lit(datetime.combine(row["start_date"], datetime.min.time())).alias("targeted_at"),
                pl.Series("r", r),
                pl.lit(i).alias("ci"),
            )
        )
    df = pl.concat(parts)
    keen = pl.col("persona").is_in(["champion", "loyal", "potential_loyalist", "new"])
    df = df.with_columns(
        pl.when(pl.col("r") < pl.when(keen).then(0.08).otherwise(0.02))
        .then(pl.lit("purchased"))
        .when(pl.col("r") < 0.15)
        .then(pl.lit("clicked"))
        .when(pl.col("r") < 0.4)
        .then(pl.lit("opened"))
        .otherwise(None)
        .alias("response"),
        pl.lit("marketing/campaign_responses.csv").alias("file"),
    ).with_columns(
        pl.when(pl.col("response").is_not_null())
        .then(pl.col("targeted_at") + pl.duration(hours=(pl.col("r") * 200)))
        .alias("responded_at"),
        pl.format("{}:{}", pl.col("campaign_id"), pl.col("member_id")).alias("rid"),
    )
    df = _add_row_numbers(df)
    truth.add("campaign_responses", df, "rid")
    fmt = "%Y-%m-%d %H:%M:%S"
    _write_csv(
        df.select(
            "campaign_id",
            pl.col("member_id").alias("member_no"),
            pl.col("phone").alias("mobile"),
            pl.col("targeted_at").dt.strftime(fmt).alias("sent_at"),
            "response",
            pl.col("responded_at").dt.strftime(fmt).alias("responded_at"),
        ),
        out / "marketing/campaign_responses.csv",
    )


def write_b2b(out, spec, persons, rng, truth):
    b2b = persons.filter(pl.col("is_b2b"))
    prospects = persons.filter(pl.col("persona") == "prospect").sample(fraction=0.15, seed=int(rng.integers(1 << 31)))
    leads = pl.concat([b2b, prospects])
    n = leads.height
    status = np.where(
        leads["is_b2b"].to_numpy(), "converted", _pick(rng, ["new", "qualified", "lost"], n, [0.5, 0.3, 0.2]).to_numpy()
    )
    created = _ts(
        spec.end_date, leads["last_days"].to_numpy() + leads["span_days"].to_numpy() + rng.uniform(0, 60, n), rng
    )
    df = (
        leads.with_columns(
            pl.Series("status", status.astype(str)),
            pl.Series("created_at", created),
            _pick(rng, ["展会", "官网表单", "电话", "转介绍"], n, name="lead_source"),
        )
        .sort("created_at")
        .with_row_index("seq")
        .with_columns(pl.format("L{}", pl.col("seq") + 1).alias("lead_id"), pl.lit("b2b/leads.csv").alias("file"))
    )
    df = _add_row_numbers(df)
    truth.add("leads", df, "lead_id")
    fmt = "%Y-%m-%d %H:%M:%S"
    _write_csv(
        df.select(
            "lead_id",
            pl.col("member_id").alias("member_no"),
            pl.coalesce("company_name", pl.col("name")).alias("company"),
            pl.col("name").alias("contact"),
            pl.col("phone").alias("mobile"),
            "email",
            pl.col("lead_source").alias("source"),
            "status",
            pl.col("created_at").dt.strftime(fmt).alias("created_at"),
        ),
        out / "b2b/leads.csv",
    )
    opp = df.filter(pl.col("status").is_in(["converted", "qualified"]))
    m = opp.height
    stage = np.where(
        opp["status"].to_numpy() == "converted",
        "closed_won",
        _pick(rng, ["prospecting", "proposal", "negotiation", "closed_lost"], m).to_numpy(),
    )
    opp = opp.with_columns(
        pl.Series("stage", stage.astype(str)),
        pl.Series("amount", np.round(rng.lognormal(10, 0.8, m), 2)),
        (pl.col("created_at") + pl.duration(days=7)).alias("opp_created_at"),
        pl.lit("b2b/opportunities.csv").alias("file"),
    ).with_columns(
        pl.when(pl.col("stage").str.starts_with("closed"))
        .then(pl.col("opp_created_at") + pl.duration(days=45))
        .alias("closed_at"),
        pl.format("O{}", pl.col("seq") + 1).alias("opportunity_id"),
    )
    opp = _add_row_numbers(opp)
    truth.add("opportunities", opp, "opportunity_id")
    _write_csv(
        opp.select(
            "opportunity_id",
            "lead_id",
            pl.col("member_id").alias("member_no"),
            pl.coalesce("company_name", pl.col("name")).alias("company"),
            "stage",
            "amount",
            pl.col("opp_created_at").dt.strftime(fmt).alias("created_at"),
            pl.col("closed_at").dt.strftime(fmt).alias("closed_at"),
        ),
        out / "b2b/opportunities.csv",
    )


STEPS = [
    "persons",
    "orders",
    "registry",
    "tmall",
    "jd",
    "pdd",
    "pos",
    "dealers",
    "interactions",
    "service",
    "surveys",
    "marketing",
    "b2b",
    "truth",
]


def generate(
    out: Path | str, spec: DemoSpec, progress: Callable[[str], None] = print, workers: int = 2
) -> dict[str, float]:
    """Write the whole demo set under `out` (replacing what was there). Returns seconds per step.

    Deterministic for `spec` whatever `workers` is: every step has its own random stream.
    """
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    timings: dict[str, float] = {}
    truth = Truth()

    def step(name: str, fn: Callable[[], object]):
        t0 = time.perf_counter()
        result = fn()
        timings[name] = time.perf_counter() - t0
        progress(f"  {name:<14} {timings[name]:6.1f}s")
        return result

    # Each step draws from its own stream of the seed, so the output does not depend on which thread ran first.
    def rng(name: str) -> np.random.Generator:
        return np.random.default_rng([spec.seed, STEPS.index(name)])

    persons = step("persons", lambda: make_persons(spec, rng("persons")))
    orders = step("orders", lambda: make_orders(spec, persons, rng("orders")))
    end = spec.end_date
    writers: dict[str, Callable[[np.random.Generator], None]] = {
        "tmall": lambda r: write_tmall(out, orders, persons, r, truth, spec.daily_from, spec.drift_from),
        "jd": lambda r: write_jd(out, orders, persons, r, truth, spec.daily_from),
        "interactions": lambda r: write_interactions(out, spec, persons, r, truth),
        "pos": lambda r: write_pos(out, orders, persons, r, truth, spec.daily_from),
        "dealers": lambda r: write_dealers(out, orders, persons, r, truth),
        "registry": lambda r: write_registry(out, persons, r, truth, end),
        "pdd": lambda r: write_pdd(out, orders, persons, r, truth, end, spec.daily_from),
        "marketing": lambda r: write_marketing(out, spec, persons, r, truth),
        "surveys": lambda r: write_surveys(out, spec, persons, r, truth),
        "service": lambda r: write_service(out, spec, persons, r, truth),
        "b2b": lambda r: write_b2b(out, spec, persons, r, truth),
    }
    # Polars releases the GIL; the pure-Python parts (GBK encoding, xlsxwriter) then overlap with its work.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(step, name, lambda f=fn, n=name: f(rng(n))) for name, fn in writers.items()]
        for future in futures:
            future.result()

    def write_truth():
        (out / "truth").mkdir()
        persons.select(
            "person_id",
            "person_key",
            "persona",
            "name",
            "phone",
            "email",
            "member_id",
            "wechat_unionid",
            "company_name",
            "nick",
        ).write_parquet(out / "truth/persons.parquet")
        records = truth.records()
        records.write_parquet(out / "truth/records.parquet")
        records.filter(pl.col("defect").is_not_null()).select(
            "source", "file", "row_number", "record_id", "defect"
        ).write_parquet(out / "truth/dirty_rows.parquet")
        (out / "truth/README.md").write_text(TRUTH_README, encoding="utf-8")

    step("truth", write_truth)
    if spec.daily_from is not None:
        step("increments", lambda: _move_daily_files(out, spec.daily_from))
    return timings


TRUTH_README = """# Planted truth (never read by the pipeline)

- persons.parquet: one row per synthetic person: the persona (segment) it was drawn from and its true identifiers.
- records.parquet: one row per record any source file holds: source, file, row_number (as `_row_number` in the
  warehouse), record_id, the true person_id, the defect planted in that row (if any), and whether the record is
  a planted duplicate registration.
- dirty_rows.parquet: the rows with a planted defect and the defect's name.
"""
