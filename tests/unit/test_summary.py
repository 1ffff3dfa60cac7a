"""The run summary's monitoring lines: the backtest, the recommendations' hit rate, the outbox."""

from datetime import date

from pipeline.runs.summary import _monitoring_lines, clv_fit_lines, matching_lines

DAY = date(2026, 4, 1)


def test_the_backtest_lines_give_the_recommendations_hit_rate_against_habit_and_the_outbox_files():
    lines = _monitoring_lines(
        {
            "alerts": None,
            "backtest": [(DAY, 90, "p_alive", 0.71, 0.3), (DAY, 90, "weighted_score", 0.8, 0.5)],
            "offers": [(DAY, 0.052, 0.02, 2.6)],
            "outbox": [("crm_groups", 12, "/o/crm_groups/a.csv", date(2026, 7, 1)), ("staff_tasks", 3, None, DAY)],
        }
    )
    assert lines == [
        "",
        "Backtest of the grades of 2026-04-01 against the 90 days after: p_alive AUC 0.710, weighted_score AUC 0.800.",
        "Recommendations of 2026-04-01: 5.2% of the products offered were bought, 2.0% by the segment's habit "
        "(lift 2.60).",
        "",
        "## Outbox of 2026-07-01 (activation.events, docs/activation.md)",
        "",
        "- crm_groups: 12 events -> /o/crm_groups/a.csv",
        "- staff_tasks: 3 events -> not written yet",
    ]


def test_no_lift_without_a_habit_and_no_outbox_line_without_a_change():
    lines = _monitoring_lines(
        {
            "alerts": None,
            "backtest": [(DAY, 90, "clv", None, None)],
            "offers": [(DAY, 0.1, None, None)],
            "outbox": [(None, None, None, DAY)],
        }
    )
    assert "Recommendations of 2026-04-01: 10.0% of the products offered were bought." in lines
    assert lines[-1] == "No customer entered or left a membership an action watches since the last delivery."


def test_customers_predicted_by_a_fit_that_did_not_converge_are_counted_loudly():
    assert clv_fit_lines(None) == [] and clv_fit_lines([]) == []
    assert clv_fit_lines([("all", 1234), ("b2b", 56)]) == [
        "",
        "**CLV from a fit that did not converge**: 1,234 predicted by the 'all' fit, 56 predicted by the 'b2b' fit "
        "(marts.customer_clv.clv_fit; what was done: the clv step's fit_notes, marts.clv_model_params). Read those "
        "CLVs with care.",
    ]


def test_a_resolution_without_probabilistic_matching_says_so_loudly():
    assert matching_lines(None) == []
    assert matching_lines("training: no deterministic rule finds two profiles alike") == [
        "",
        "**Probabilistic matching did not run**: training: no deterministic rule finds two profiles alike "
        "(identity.runs.matching_skipped).",
    ]


def test_a_profile_predicted_by_the_fit_over_everyone_is_named():
    assert clv_fit_lines(None, []) == []
    assert clv_fit_lines(None, [("b2b_low_frequency", 791)]) == [
        "",
        "**CLV from the fit over everyone**: 791 of profile b2b_low_frequency, too few repeat buyers for a fit of "
        "their own (clv.min_repeat_customers): their CLV follows mostly other profiles' buying "
        "(marts.customer_clv.fitted_on = 'all').",
    ]
