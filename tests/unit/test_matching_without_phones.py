"""Probabilistic matching on a company whose records carry no phone (issue 45): the prior P(two random profiles
are one person) is estimated from the deterministic rules the data can use, never 0, and data too thin to train
on is resolved by its identifiers with a note, never a crash."""

import random

import duckdb

from pipeline.identity.matching import match_profiles
from pipeline.identity.work_db import WORK_DB, identity_workspace

CITIES = ["上海", "北京", "广州", "杭州", "成都", "武汉", "南京", "西安"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


PLANTED = 30  # people who are also a group of their own in a third source, sharing no identifier with it


def _profiles(con, people: int, seed: int = 5) -> None:
    """Two profiles per person (the same person in two sources: a group seen twice), named with a typo now and
    then, in the person's city, at its street; no phone anywhere. Plus as many people seen once, and PLANTED of the
    first people again as a group of their own (group id 10,000 + person): the pairs matching should find."""
    rng = random.Random(seed)
    rows = []
    for person in range(2 * people):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        city, street = rng.choice(CITIES), f"{rng.choice(['人民', '中山', '解放', '建设'])}路{rng.randint(1, 400)}号"
        sources = ("crm", "shop") if person < people else ("crm",)
        for ordinal, source in enumerate(sources, start=1):
            seen = name if rng.random() > 0.1 else name[:-1] + rng.choice(GIVEN)
            rows.append((person * 64 + ordinal, person, source, seen, None, None, city, street))
        if person < min(PLANTED, people):
            rows.append(((10_000 + person) * 64 + 3, 10_000 + person, "store", name, None, None, city, street))
    con.execute(
        f"""create or replace table {WORK_DB}.identity_profiles (unique_id bigint, group_id bigint,
        source_name varchar, name varchar, phone_pattern varchar, phone varchar, city varchar, address varchar)"""
    )
    if rows:
        con.executemany(f"insert into {WORK_DB}.identity_profiles values (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def test_records_without_phones_are_matched_on_what_they_have():
    # Before: Splink's estimate_probability_two_random_records_match on name + phone pattern found no pair, so
    # the prior was 0 and training stopped with "math domain error".
    con = duckdb.connect()
    with identity_workspace(con):
        _profiles(con, 200)
        result = match_profiles(con, seed=1)
        assert result.skipped is None and result.model is not None
        prior = result.model["probability_two_random_records_match"]
        assert 0 < prior < 1
        # the planted pairs score as one person; no two other groups do (two people share a name, city and street
        # only by chance)
        scored = con.sql(
            """select least(group_id_l, group_id_r), greatest(group_id_l, group_id_r), match_probability
            from identity_match_edges where match_probability >= 0.95"""
        ).fetchall()
        planted = {(person, 10_000 + person) for person in range(PLANTED)}
        found = {(low, high) for low, high, _ in scored}
        assert len(found & planted) >= 0.9 * PLANTED, sorted(found)
        assert not found - planted, sorted(found - planted)


def test_data_too_thin_to_train_on_is_resolved_by_identifiers_with_a_note():
    con = duckdb.connect()
    with identity_workspace(con):
        _profiles(con, 12)
        con.execute(f"update {WORK_DB}.identity_profiles set city = null, address = null")
        result = match_profiles(con, seed=1)
        assert result.model is None
        assert result.skipped and "training" in result.skipped
        [(edges,)] = con.sql("select count(*) from identity_match_edges").fetchall()
        assert edges == 0


def test_one_source_with_duplicate_contacts_is_trained_by_expectation_maximisation():
    # A single CRM: no group is seen by two sources, so there is no label to learn m from (before: matching was
    # skipped, "nothing to learn from"). Expectation maximisation on name + city and on address learns it.
    con = duckdb.connect()
    with identity_workspace(con):
        _profiles(con, 0)  # no group seen twice
        rng = random.Random(9)
        rows = []
        for person in range(800):
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            city = rng.choice(CITIES)
            street = f"{rng.choice(['人民', '中山', '解放', '建设'])}路{rng.randint(1, 400)}号"
            rows.append((person * 64 + 1, person, "crm", name, None, None, city, street))
            if person < PLANTED:  # the same person entered again as another contact
                rows.append(((10_000 + person) * 64 + 1, 10_000 + person, "crm", name, None, None, city, street))
        con.executemany(f"insert into {WORK_DB}.identity_profiles values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        result = match_profiles(con, seed=1)
        assert result.skipped is None and result.model is not None
        found = {
            (low, high)
            for low, high in con.sql(
                """select least(group_id_l, group_id_r), greatest(group_id_l, group_id_r)
                from identity_match_edges where match_probability >= 0.95"""
            ).fetchall()
        }
        planted = {(person, 10_000 + person) for person in range(PLANTED)}
        assert len(found & planted) >= 0.9 * PLANTED, sorted(found)
        assert not found - planted, sorted(found - planted)
