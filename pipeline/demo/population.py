"""The synthetic population: personas, the persons drawn from them and their orders, before any channel writes
them (pipeline/demo/generator.py puts the demo set together)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from pipeline.demo import catalogue, vocab

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


def label(values, codes: np.ndarray, name: str = "") -> pl.Series:
    """Strings from integer codes. Gathering from a small Series is far faster than numpy string arrays."""
    return pl.Series(name, list(values), dtype=pl.String).gather(codes)


def pick_labels(rng: np.random.Generator, values, n: int, p=None, name: str = "") -> pl.Series:
    return label(values, rng.choice(len(values), size=n, p=p), name)


def timestamps(end: date, days_ago: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Datetimes `days_ago` before the end of `end`, at a random time between 08:00 and 23:00."""
    base = np.datetime64(end, "s") + np.timedelta64(1, "D")
    secs = (days_ago * 86400).astype("int64") + rng.integers(3600, 16 * 3600, size=len(days_ago))
    return (base - secs.astype("timedelta64[s]")).astype("datetime64[us]")


def draw_codes(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """`n` draws of indices into `weights`, in ascending order.

    One multinomial draw then a repeat: ~15x faster than `rng.choice(p=...)` over a million weights, and the
    sorted result makes the gathers that follow sequential. Callers sort by time afterwards anyway.
    """
    counts = rng.multinomial(n, weights / weights.sum())
    return np.repeat(np.arange(len(weights), dtype=np.int64), counts)


def mask_phone(phone: pl.Expr) -> pl.Expr:
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
    g1, g2 = pick_labels(rng, vocab.GIVEN, n), pick_labels(rng, vocab.GIVEN, n)
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
            "persona": label(PERSONAS, which),
            "surname": label([s for s, _ in vocab.SURNAMES], sur),
            "pinyin": label([p for _, p in vocab.SURNAMES], sur),
            "given": pl.select(pl.when(pl.lit(given_len) == 1).then(g1).otherwise(g1 + g2)).to_series(),
            "gender": rng.choice(["男", "女"], size=n),
            "birth_date": (np.datetime64("1958-01-01") + rng.integers(0, 48 * 365, n).astype("timedelta64[D]")),
            "phone_prefix": pick_labels(rng, vocab.MOBILE_PREFIXES, n),
            "phone_suffix": suffix,
            "email_domain": pick_labels(rng, vocab.EMAIL_DOMAINS, n),
            "province": label([p for p, _ in vocab.PROVINCE_CITY], pc),
            "city": label([c for _, c in vocab.PROVINCE_CITY], pc),
            "street": pick_labels(rng, vocab.STREETS, n),
            "house_no": rng.integers(1, 999, n),
            "occupation": pick_labels(rng, vocab.OCCUPATIONS, n),
            "is_b2b": b2b,
            "company_word": pick_labels(rng, vocab.COMPANY_WORDS, n),
            "industry": pick_labels(rng, vocab.INDUSTRIES, n),
            "company_size": pick_labels(rng, vocab.COMPANY_SIZES, n),
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
    further = draw_codes(rng, w, max(m - len(anchors), 0))
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
    # Each person favours one taste group of categories (person_id % groups): 80% of their orders start in it,
    # so customers of a taste buy the group's products together (what the co-purchase recommendations find);
    # the product within a category is drawn by its long-tail popularity (catalogue.py).
    taste = who % catalogue.TASTE_GROUPS
    in_group = catalogue.TASTE_GROUP_SIZE * taste + rng.integers(0, catalogue.TASTE_GROUP_SIZE, m)
    category = np.where(rng.random(m) < 0.8, in_group, rng.integers(0, len(catalogue.CATEGORIES), m))
    product = catalogue.draw_products(rng, category)
    return (
        pl.DataFrame(
            {
                "person_id": who.astype(np.int64),
                "channel": label(CHANNELS, channel),
                "ordered_at": timestamps(spec.end_date, days_ago, rng),
                "amount": amount,
                "refund_amount": refund.astype(float),
                "status": label(["completed", "cancelled", "refunded", "partially_refunded"], status),
                "product": product,
                "n_lines": rng.choice([1, 1, 1, 2, 2, 3], size=m),
                "mask": rng.random(m),
                "show_card": rng.random(m),
            }
        )
        .sort("ordered_at", "person_id", maintain_order=True)  # order ids grow with time, as in real exports
        .with_row_index("order_seq")
    )
