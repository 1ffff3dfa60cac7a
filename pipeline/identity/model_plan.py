"""Which comparisons, blocking rules and training rules the matching uses: chosen from the attributes this
company's profiles carry, or named in crmgrade.yml (identity.matching.comparisons, .blocking_rules).

A comparison is used when at least MIN_COVERAGE (and MIN_CARRIERS) of the profiles carry its attribute; a blocking
rule (the pairs Splink scores) when every column it blocks on is compared and it yields no more than PAIRS_PER_PROFILE
pairs per profile; the expectation-maximisation rules are picked so each comparison is trained by a rule that does not
block on it, as Splink documents. Every choice is written down with its reason (the run's identity metadata and
docs/identity.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink.internals.comparison_creator import ComparisonCreator

from pipeline.identity.attributes import COMPARISON_NAMES, PROFILE_COLUMNS

MIN_COVERAGE = 0.05  # share of profiles carrying an attribute for it to be compared
MIN_CARRIERS = 10  # ... and how many at least: fewer teach nothing
PAIRS_PER_PROFILE = 20  # a blocking rule yielding more pairs than this per profile is too coarse to score
MIN_PAIR_CAP = 1_000_000  # ... but a small company's rule may always yield this many
MIN_EM_PAIRS = 10  # a rule finding fewer pairs teaches expectation maximisation nothing
PRIOR_RECALL = 0.9  # the share of true pairs the prior's rules are taken to find, unless measured (prior_recall)
MIN_KNOWN_PAIRS = 20  # pairs known to be one person needed to measure it
MIN_PRIOR_RECALL = 0.1  # a measured recall below this is taken as this (the rules find few pairs of any kind)


def _name(present: set[str]) -> ComparisonCreator:
    if {"first_name", "last_name"} <= present:
        # An export that splits names: the whole name, the parts swapped (Taylor Julia), both parts alike, one
        # part the same. The whole name is compared too, so a source giving only whole names still meets them.
        return cl.CustomComparison(
            output_column_name="name",
            comparison_levels=[
                cll.NullLevel("name"),
                cll.ExactMatchLevel("name").configure(tf_adjustment_column="name", tf_adjustment_weight=1.0),
                cll.ColumnsReversedLevel("first_name", "last_name"),
                cll.JaroWinklerLevel("name", 0.92),
                cll.Or(
                    cll.And(cll.JaroWinklerLevel("first_name", 0.88), cll.JaroWinklerLevel("last_name", 0.88)),
                    cll.JaroWinklerLevel("name", 0.88),
                ),
                cll.Or(cll.ExactMatchLevel("last_name"), cll.ExactMatchLevel("first_name")),
                cll.ElseLevel(),
            ],
        )
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name").configure(tf_adjustment_column="name", tf_adjustment_weight=1.0),
            cll.JaroWinklerLevel("name", 0.88),
            cll.ElseLevel(),
        ],
    )


def _phone(_: set[str]) -> ComparisonCreator:
    # Profiles of one group always agree on a full phone, so "same masked number" is where such pairs land
    # (a full number masks to its pattern) and the label training sees it. Levels those pairs cannot show
    # (two different full numbers, another city, another address) start from stated m values; the training
    # overwrites them where the data has such pairs.
    return cl.CustomComparison(
        output_column_name="phone",
        comparison_levels=[
            cll.NullLevel("phone_pattern"),
            cll.CustomLevel(
                "phone_l is not null and phone_r is not null and phone_l != phone_r", "different full numbers"
            ).configure(m_probability=0.01),
            cll.ExactMatchLevel("phone_pattern").configure(label_for_charts="same masked number"),
            cll.ElseLevel().configure(m_probability=0.02),
        ],
    )


def _city(_: set[str]) -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="city",
        comparison_levels=[
            cll.NullLevel("city"),
            cll.ExactMatchLevel("city").configure(tf_adjustment_column="city", tf_adjustment_weight=1.0),
            cll.JaroWinklerLevel("city", 0.88).configure(m_probability=0.05),  # 上海市 / 上海, Bolton / Blotn
            cll.ElseLevel().configure(m_probability=0.05),
        ],
    )


def _address(_: set[str]) -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("address"),
            cll.ExactMatchLevel("address").configure(m_probability=0.7),
            cll.LevenshteinLevel("address", 3).configure(m_probability=0.1),
            cll.ElseLevel().configure(m_probability=0.2),
        ],
    )


def _exact_or_near(column: str) -> Callable[[set[str]], ComparisonCreator]:
    # a registration number: the same, or one or two keystrokes apart (a typo, two digits swapped)
    return lambda _: cl.DamerauLevenshteinAtThresholds(column, [1, 2])


def _exact_weighted(column: str) -> Callable[[set[str]], ComparisonCreator]:
    # equal or not, an equal common value (a city centre's postcode) weighing less than a rare one
    return lambda _: cl.ExactMatch(column).configure(term_frequency_adjustments=True)


@dataclass(frozen=True)
class Comparison:
    needs: str  # the attribute whose coverage decides whether it is used
    columns: tuple[str, ...]  # every profile column it reads (a rule blocking on one does not train it)
    build: Callable[[set[str]], ComparisonCreator]
    what: str  # for the docs and the run's metadata


COMPARISONS: dict[str, Comparison] = {
    "name": Comparison(
        "name",
        ("name", "first_name", "last_name"),
        _name,
        "whole name exact (weighted by how common it is), Jaro-Winkler >= 0.88; with first and last names: "
        "swapped, both parts alike, one part the same",
    ),
    "phone": Comparison(
        "phone_pattern", ("phone_pattern", "phone"), _phone, "masked pattern (138****1234) equal, full numbers differ"
    ),
    "email": Comparison(
        "email",
        ("email",),
        lambda _: cl.EmailComparison("email"),
        "Splink's EmailComparison: exact, the same local part at another domain, Jaro-Winkler >= 0.88 on the "
        "address or its local part",
    ),
    "birth_date": Comparison(
        "birth_date",
        ("birth_date",),
        lambda _: cl.DateOfBirthComparison("birth_date", input_is_string=True),
        "Splink's DateOfBirthComparison: exact, one character apart, within a month, a year, ten years",
    ),
    "national_id": Comparison(
        "national_id", ("national_id",), _exact_or_near("national_id"), "exact, 1 or 2 edits apart"
    ),
    "company_registration_id": Comparison(
        "company_registration_id",
        ("company_registration_id",),
        _exact_or_near("company_registration_id"),
        "exact, 1 or 2 edits apart",
    ),
    "city": Comparison("city", ("city",), _city, "exact (weighted by how common it is), Jaro-Winkler >= 0.88"),
    "address": Comparison("address", ("address",), _address, "exact, Levenshtein <= 3"),
    "postcode": Comparison(
        "postcode", ("postcode",), _exact_weighted("postcode"), "exact (weighted by how common it is)"
    ),
    "company_name": Comparison(
        "company_name",
        ("company_name",),
        lambda _: cl.JaroWinklerAtThresholds("company_name", [0.92]),
        "exact, Jaro-Winkler >= 0.92",
    ),
}
assert tuple(COMPARISONS) == COMPARISON_NAMES, "attributes.COMPARISON_NAMES lists the comparisons, in this order"

# Blocking rules Splink generates the pairs to score from, most selective first; each is used when its columns
# are compared and it is not too coarse (PAIRS_PER_PROFILE).
BLOCKING_CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("phone_pattern",),
    ("national_id",),
    ("company_registration_id",),
    ("email",),
    ("name", "city"),
    ("name",),
    ("first_name",),
    ("last_name",),
    ("birth_date",),
    ("postcode",),
    ("address",),
)
# Deterministic rules P(two random profiles are one person) is estimated on, most specific first: the first that
# finds a pair of profiles is used when it is the phone rule (name + phone pattern wherever phones are exported);
# else every rule that finds one. None finding a pair: too thin to train on.
PRIOR_RULES: tuple[tuple[str, ...], ...] = (
    ("name", "phone_pattern"),
    ("national_id",),
    ("name", "birth_date"),
    ("name", "city", "address"),
    ("name", "postcode"),
    ("name", "address"),
    ("name", "city"),
)
# Rules expectation maximisation may train on (each trains the comparisons it does not block on), in order of
# preference; the plan takes them until every comparison is trained.
EM_CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("name", "city"),
    ("phone_pattern",),
    ("birth_date",),
    ("first_name", "last_name"),
    ("postcode",),
    ("address",),
    ("national_id",),
    ("name",),
)


@dataclass
class ModelPlan:
    comparisons: list[str]
    blocking_rules: list[tuple[str, ...]]
    prior_rules: list[tuple[str, ...]]
    em_rules: list[tuple[str, ...]]
    present: set[str]  # attributes carried by at least MIN_COVERAGE of the profiles
    # the share of true pairs the prior rules find: measured on pairs known to be one person, else PRIOR_RECALL
    prior_recall: float = 0.9
    notes: list[str] = field(default_factory=list)  # what was left out, and why

    def splink_comparisons(self) -> list[ComparisonCreator]:
        return [COMPARISONS[c].build(self.present) for c in self.comparisons]

    def describe(self) -> dict:
        """The plan as the run's metadata shows it."""
        return {
            "comparisons": {c: COMPARISONS[c].what for c in self.comparisons},
            "blocking_rules": [" + ".join(r) for r in self.blocking_rules],
            "prior_rules": [" + ".join(r) for r in self.prior_rules],
            "prior_recall": round(self.prior_recall, 3),
            "em_rules": [" + ".join(r) for r in self.em_rules],
            "notes": self.notes,
        }


def coverage(con: duckdb.DuckDBPyConnection, profiles: str = "identity_profiles") -> tuple[int, dict[str, float]]:
    """How many profiles, and the share carrying each attribute."""
    carried = [row[0] for row in con.sql(f"describe {profiles}").fetchall() if row[0] in PROFILE_COLUMNS]
    shares = "".join(f", count({c}) / greatest(count(*), 1)" for c in carried)
    row = con.sql(f"select count(*){shares} from {profiles}").fetchall()[0]
    found = dict(zip(carried, (float(v) for v in row[1:]), strict=True))
    return int(row[0]), {c: found.get(c, 0.0) for c in PROFILE_COLUMNS}


def pairs(con: duckdb.DuckDBPyConnection, rule: tuple[str, ...], profiles: str = "identity_profiles") -> int:
    """Pairs of profiles equal on every column of `rule` (none null)."""
    present = " and ".join(f"{column} is not null" for column in rule)
    [(found,)] = con.sql(
        f"""select coalesce(sum(n * (n - 1) / 2), 0) from (
            select count(*) as n from {profiles} where {present} group by {", ".join(rule)})"""
    ).fetchall()
    return int(found)


def plan_model(
    con: duckdb.DuckDBPyConnection,
    comparisons: list[str] | None = None,
    blocking_rules: list[list[str]] | None = None,
    train_by_em: bool = True,
) -> ModelPlan:
    """The comparisons, blocking rules, prior rules and (train_by_em) expectation-maximisation rules for the
    profiles in `identity_profiles`. `comparisons` and `blocking_rules` (from identity.matching) replace the
    chosen ones; a named comparison whose attribute no profile carries is an error naming it."""
    profiles, shares = coverage(con)
    present = {c for c, share in shares.items() if share >= MIN_COVERAGE and share * profiles >= MIN_CARRIERS}
    present.add("name")  # every profile has one (build_profiles)
    notes: list[str] = []
    if comparisons is None:
        chosen = [name for name, c in COMPARISONS.items() if c.needs in present]
        for name, c in COMPARISONS.items():
            if name not in chosen and shares[c.needs] > 0:
                notes.append(
                    f"comparison {name} left out: {round(shares[c.needs] * profiles):,} profiles "
                    f"({shares[c.needs]:.1%}) carry {c.needs} (needs {MIN_COVERAGE:.0%} and {MIN_CARRIERS})"
                )
    else:
        missing = [name for name in comparisons if shares[COMPARISONS[name].needs] == 0]
        if missing:
            raise ValueError(
                "identity.matching.comparisons names "
                + ", ".join(f"{m} (attribute {COMPARISONS[m].needs})" for m in missing)
                + ", which no profile carries: map the attribute in a source contract or remove it from the list"
            )
        chosen = list(comparisons)
    compared = {column for name in chosen for column in COMPARISONS[name].columns if column in present}
    cap = max(MIN_PAIR_CAP, PAIRS_PER_PROFILE * profiles)
    counted: dict[tuple[str, ...], int] = {}

    def count(rule: tuple[str, ...]) -> int:
        if rule not in counted:
            counted[rule] = pairs(con, rule)
        return counted[rule]

    if blocking_rules is None:
        blocking = []
        for rule in BLOCKING_CANDIDATES:
            if not set(rule) <= compared:
                continue
            found = count(rule)
            if found > cap:
                notes.append(f"blocking rule {' + '.join(rule)} left out: {found:,} pairs (more than {cap:,})")
            elif found:
                blocking.append(rule)
        # a rule blocking on more columns than another chosen one finds only pairs that one finds
        blocking = [r for r in blocking if not any(set(o) < set(r) for o in blocking)]
    else:
        blocking = [tuple(rule) for rule in blocking_rules]
    prior = []
    for rule in PRIOR_RULES:
        if set(rule) <= present and count(rule) > 0:
            if rule == PRIOR_RULES[0]:
                prior = [rule]
                break
            prior.append(rule)
    em: list[tuple[str, ...]] = []
    if train_by_em:
        untrained = set(chosen)
        for rule in EM_CANDIDATES:
            if not untrained:
                break
            if not set(rule) <= present or not MIN_EM_PAIRS <= count(rule) <= cap:
                continue
            trains = {name for name in untrained if not set(COMPARISONS[name].columns) & set(rule)}
            if trains:
                em.append(rule)
                untrained -= trains
        if untrained and em:
            notes.append(
                "comparison(s) "
                + ", ".join(sorted(untrained))
                + " left out: no rule to train them by expectation maximisation finds pairs"
            )
            chosen = [c for c in chosen if c not in untrained]
        if len(chosen) < 2:  # one comparison is no model: the data is too thin for expectation maximisation
            em = []
    recall, known = prior_recall(con, prior)
    if known < MIN_KNOWN_PAIRS:
        notes.append(
            f"the prior's rules are taken to find {PRIOR_RECALL:.0%} of true pairs: only {known} pairs of profiles "
            f"are known to be one person (needs {MIN_KNOWN_PAIRS} to measure it)"
        )
    return ModelPlan(chosen, blocking, prior, em, present, prior_recall=recall, notes=notes)


def prior_recall(con: duckdb.DuckDBPyConnection, rules: list[tuple[str, ...]]) -> tuple[float, int]:
    """The share of the pairs known to be one person (two profiles of one identifier group) that `rules` find, and
    how many such pairs there are; PRIOR_RECALL when fewer than MIN_KNOWN_PAIRS.

    Splink estimates the prior from the pairs deterministic rules find, divided by the rules' recall. Exact rules
    miss every true pair with a typo, so the recall is measured on the company's own data rather than assumed: a
    typo-ridden registry's rules find far fewer than 90%, and assuming 90% would make every match look unlikely."""
    if not rules:
        return PRIOR_RECALL, 0
    found = " or ".join("(" + " and ".join(f"l.{c} = r.{c}" for c in rule) + ")" for rule in rules)
    [(known, hits)] = con.sql(
        f"""select count(*), count(*) filter (where {found})
        from identity_profiles l join identity_profiles r on l.group_id = r.group_id and l.unique_id < r.unique_id"""
    ).fetchall()
    if known < MIN_KNOWN_PAIRS:
        return PRIOR_RECALL, int(known)
    return min(max(hits / known, MIN_PRIOR_RECALL), 1.0), int(known)
