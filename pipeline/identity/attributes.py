"""The attributes matching compares, by name: the one list the configuration (identity.matching) validates against
and model_plan.py builds Splink's comparisons from. Kept apart from model_plan.py so that reading the configuration
does not import Splink."""

from __future__ import annotations

# The columns of a profile, each an attribute of the person as one source saw it (records.py extracts them).
PROFILE_COLUMNS = (
    "name",
    "first_name",
    "last_name",
    "phone_pattern",
    "phone",
    "email",
    "birth_date",
    "national_id",
    "city",
    "address",
    "postcode",
    "company_name",
    "company_registration_id",
)
# The comparisons model_plan.COMPARISONS defines, in the order a model lists them.
COMPARISON_NAMES = (
    "name",
    "phone",
    "email",
    "birth_date",
    "national_id",
    "company_registration_id",
    "city",
    "address",
    "postcode",
    "company_name",
)
