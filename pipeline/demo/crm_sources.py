"""The CRM's own sources: the member registry, interactions, service tickets, surveys, marketing and the B2B
pipeline."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from pipeline.demo import vocab
from pipeline.demo.files import Truth, add_row_numbers, month_file, plant_defects, write_csv_file
from pipeline.demo.population import draw_codes, label, pick_labels, timestamps


# --------------------------------------------------------------------------------------------------------------
# one writer per source
# --------------------------------------------------------------------------------------------------------------
def write_registry(out: Path, persons: pl.DataFrame, rng: np.random.Generator, truth: Truth, end: date) -> None:
    members = persons.filter(pl.col("is_member")).with_columns(
        pl.lit(False).alias("is_duplicate_record"),
        pl.Series("registered_at", timestamps(end, rng.uniform(0, 1400, persons["is_member"].sum()), rng)),
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
    df = plant_defects(
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
    df = add_row_numbers(df)
    truth.add("members", df, "member_id")
    write_csv_file(
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
    who = draw_codes(rng, w, n)
    p = persons.select("person_id", "member_id", "phone", "email", "last_days")[who]
    kind = pick_labels(
        rng, ["call", "email", "chat", "wechat", "web_visit", "contact_form"], n, [0.15, 0.15, 0.15, 0.2, 0.3, 0.05]
    )
    ref = rng.random(n)
    days_ago = p["last_days"].to_numpy() * rng.uniform(0.5, 1.2, n) + rng.uniform(0, 120, n)
    df = (
        p.select("person_id", "member_id", "phone", "email")
        .with_columns(
            kind.alias("kind"),
            pl.Series("ref", ref),
            pl.Series("at", timestamps(spec.end_date, np.maximum(days_ago, 0), rng)),
            pl.Series("duration", rng.integers(10, 1800, n)),
            label(["inbound", "outbound"], (rng.random(n) >= 0.7).astype(np.int64), "direction"),
        )
        .sort("at")
        .with_row_index("seq")
        .with_columns(
            pl.format("E{}", pl.col("seq") + 1).alias("event_id"),
            month_file("interactions/events_", "at", "jsonl", spec.daily_from).alias("file"),
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
    df = plant_defects(df, rng, 0.003, {"unparseable_date": {"ts": pl.lit("yesterday")}})
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
    return slim[draw_codes(rng, w, n)]


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
    opened = timestamps(spec.end_date, p["last_days"].to_numpy() + rng.uniform(0, 200, n), rng)
    hours = rng.lognormal(3, 1, n)
    resolved = opened + (hours * 3600).astype("timedelta64[s]")
    open_now = rng.random(n) < 0.05
    df = (
        p.select("person_id", "member_id", "phone")
        .with_columns(
            label(vocab.TICKET_CATEGORIES, cat, "category"),
            pl.Series("opened_at", opened),
            pl.Series("resolved_at", resolved),
            pl.Series("open_now", open_now),
            pick_labels(rng, ["电话", "在线客服", "微信", "门店"], n, name="channel"),
        )
        .sort("opened_at")
        .with_row_index("seq")
        .with_columns(
            pl.format("T{}", pl.col("seq") + 100000).alias("ticket_id"), pl.lit("service/tickets.csv").alias("file")
        )
    )
    df = add_row_numbers(df)
    truth.add("service", df, "ticket_id")
    fmt = "%Y-%m-%d %H:%M"
    write_csv_file(
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
            pl.Series("at", timestamps(spec.end_date, p["last_days"].to_numpy() + rng.uniform(0, 90, n), rng)),
            pl.Series("ref", ref),
        )
        .sort("at")
        .with_row_index("seq")
        .with_columns(
            pl.format("S{}", pl.col("seq") + 1).alias("response_id"), pl.lit("surveys/responses.csv").alias("file")
        )
    )
    df = add_row_numbers(df)
    truth.add("surveys", df, "response_id")
    write_csv_file(
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
            "channel": pick_labels(rng, vocab.CAMPAIGN_CHANNELS, k),
            "start_date": start,
            "end_date": start + np.timedelta64(14, "D"),
            "budget": np.round(rng.uniform(20000, 200000, k), 2),
        }
    )
    write_csv_file(
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
    df = add_row_numbers(df)
    truth.add("campaign_responses", df, "rid")
    fmt = "%Y-%m-%d %H:%M:%S"
    write_csv_file(
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
        leads["is_b2b"].to_numpy(),
        "converted",
        pick_labels(rng, ["new", "qualified", "lost"], n, [0.5, 0.3, 0.2]).to_numpy(),
    )
    created = timestamps(
        spec.end_date, leads["last_days"].to_numpy() + leads["span_days"].to_numpy() + rng.uniform(0, 60, n), rng
    )
    df = (
        leads.with_columns(
            pl.Series("status", status.astype(str)),
            pl.Series("created_at", created),
            pick_labels(rng, ["展会", "官网表单", "电话", "转介绍"], n, name="lead_source"),
        )
        .sort("created_at")
        .with_row_index("seq")
        .with_columns(pl.format("L{}", pl.col("seq") + 1).alias("lead_id"), pl.lit("b2b/leads.csv").alias("file"))
    )
    df = add_row_numbers(df)
    truth.add("leads", df, "lead_id")
    fmt = "%Y-%m-%d %H:%M:%S"
    write_csv_file(
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
        pick_labels(rng, ["prospecting", "proposal", "negotiation", "closed_lost"], m).to_numpy(),
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
    opp = add_row_numbers(opp)
    truth.add("opportunities", opp, "opportunity_id")
    write_csv_file(
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
