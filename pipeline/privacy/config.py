"""crmgrade.yml `privacy`: where the salt, the suppression list and the erasure log are kept (pipeline/config.py
composes every stage's block)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from pipeline.validated_yaml import StrictModel


class PrivacyConfig(StrictModel):
    """Erasure and suppression (pipeline/privacy). Kept outside the warehouse: a rebuild from the source files
    must still leave out the people who asked to be erased."""

    dir: Path = Field(
        default=Path("data/privacy"),
        description="The salt (unless $CRMGRADE_PRIVACY_SALT is set), the suppression list and the erasure log.",
    )
