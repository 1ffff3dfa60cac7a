"""Were the recommendations right? The products offered on a past graded day against what the customers bought in
the horizon after it.

A recommendation (history.recommendation_history) hits when its customer bought the product in
[D, D + horizon). A hit rate alone flatters popular products, so each recommendation is set against the chance a
customer of the same segment that day bought the product anyway: the share, among the day's graded customers of
the segment who neither had it before D nor were offered it, who bought it in the horizon. lift = hits / the hits
that chance would give (above 1: the recommendations found buyers better than the segment's habit).
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from pipeline.warehouse_tables import table_exists

_QUERY = """
with recommended as (
    select as_of_date, customer_key, segment_en, basis, product_key
    from history.recommendation_history
    where as_of_date + $horizon <= $as_of
),
graded as (
    select as_of_date, customer_key, segment_en from history.grade_history
    where as_of_date in (select distinct as_of_date from recommended)
),
lines as (
    select customer_key, product_key, order_date
    from marts.fct_order_lines
    where customer_key is not null and is_purchase
),
-- when each customer first bought each product (once, not per day): owned before a day, or new in its horizon
first_bought as (
    select customer_key, product_key, min(order_date) as first_on from lines group by all
),
-- the habit's counts per day, segment and product: who had it before the day, who first bought it in the horizon
held as (
    select g.as_of_date, g.segment_en, g.customer_key, f.product_key,
        f.first_on < g.as_of_date as owned_before,
        f.first_on >= g.as_of_date as bought_after
    from graded as g
    join first_bought as f on f.customer_key = g.customer_key and f.first_on < g.as_of_date + $horizon
),
-- an offer hits when its customer bought the product in the horizon (again, for one who had it before)
bought_in_horizon as (
    select distinct r.as_of_date, r.customer_key, r.product_key
    from recommended as r
    join lines as l on l.customer_key = r.customer_key and l.product_key = r.product_key
        and l.order_date >= r.as_of_date and l.order_date < r.as_of_date + $horizon
),
offers as (
    select r.*, b.customer_key is not null as hit, coalesce(h.owned_before, false) as owned_before
    from recommended as r
    left join bought_in_horizon as b using (as_of_date, customer_key, product_key)
    left join held as h using (as_of_date, customer_key, product_key)
),
segment_sizes as (
    select as_of_date, segment_en, count(*) as customers from graded group by all
),
-- the segment's own habit per product: new buyers among those not offered it and without it before
habit as (
    select s.as_of_date, s.segment_en, p.product_key,
        (coalesce(h.new_buyers, 0) - coalesce(p.offered_hits, 0))
            / nullif(s.customers - coalesce(h.owners, 0) - p.offered, 0) as chance
    from (
        select as_of_date, segment_en, product_key,
            count(*) filter (where not owned_before) as offered,
            count(*) filter (where not owned_before and hit) as offered_hits
        from offers group by all
    ) as p
    join segment_sizes as s using (as_of_date, segment_en)
    left join (
        select as_of_date, segment_en, product_key,
            count(*) filter (where owned_before) as owners,
            count(*) filter (where bought_after and not owned_before) as new_buyers
        from held group by all
    ) as h using (as_of_date, segment_en, product_key)
),
judged as (
    select o.*, h.chance from offers as o
    left join habit as h using (as_of_date, segment_en, product_key)
),
per_basis as (
    select 'all' as basis, * exclude (basis) from judged
    union all
    select basis, * exclude (basis) from judged
)
select as_of_date, $horizon as horizon_days, basis,
    count(distinct customer_key) as customers,
    count(*) as recommendations,
    count(*) filter (where hit) as hits,
    count(*) filter (where hit) / count(*) as hit_rate,
    count(distinct customer_key) filter (where hit) as customers_with_a_hit,
    count(distinct customer_key) filter (where hit) / count(distinct customer_key) as customer_hit_rate,
    avg(chance) as chance_hit_rate,
    count(*) filter (where hit and chance is not null) / nullif(sum(chance), 0) as lift
from per_basis
group by as_of_date, basis
order by as_of_date, basis
"""

SCHEMA = {
    "as_of_date": pl.Date,
    "horizon_days": pl.Int64,
    "basis": pl.String,
    "customers": pl.Int64,
    "recommendations": pl.Int64,
    "hits": pl.Int64,
    "hit_rate": pl.Float64,
    "customers_with_a_hit": pl.Int64,
    "customer_hit_rate": pl.Float64,
    "chance_hit_rate": pl.Float64,
    "lift": pl.Float64,
}

COLUMNS = {
    "as_of_date": "The graded day whose recommendations are judged (history.recommendation_history).",
    "horizon_days": "Purchases counted in [as_of_date, as_of_date + horizon_days).",
    "basis": "all, co_purchase or segment_popular (how the product was chosen).",
    "customers": "Customers offered a product that day.",
    "recommendations": "Products offered (customer x product).",
    "hits": "Offers whose customer bought the product in the horizon.",
    "hit_rate": "hits / recommendations.",
    "customers_with_a_hit": "Customers who bought at least one product offered to them.",
    "customer_hit_rate": "customers_with_a_hit / customers.",
    "chance_hit_rate": "Mean, over the offers, of the share of the segment's customers who neither had the product "
    "before nor were offered it and bought it in the horizon: the hit rate of the segment's own habit.",
    "lift": "hits over the hits chance_hit_rate gives on the same offers (above 1: better than habit).",
}


def recommendation_backtest(con: duckdb.DuckDBPyConnection, as_of: date, horizon_days: int) -> pl.DataFrame:
    """Per graded day whose horizon has passed by `as_of` and per basis: hit rate, chance rate and lift."""
    if not all(table_exists(con, "history", t) for t in ("grade_history", "recommendation_history")):
        return pl.DataFrame(schema=SCHEMA)  # the first run: no day graded before this one
    params = {"as_of": as_of, "horizon": horizon_days}
    frame = con.sql(_QUERY, params=params).pl()
    return frame.cast({c: t for c, t in SCHEMA.items() if c in frame.columns}).select(list(SCHEMA))
