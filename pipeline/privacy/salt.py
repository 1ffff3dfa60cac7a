"""The secret salt of every hash of a personal value (bi join keys, the suppression list).

From $CRMGRADE_PRIVACY_SALT when set (production: from a secret store), else from the file `salt` in
crmgrade.yml privacy.dir, created on first use. The same salt must be used for as long as the suppression
list is kept: a new salt makes old entries match nothing.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SALT_ENV = "CRMGRADE_PRIVACY_SALT"


def privacy_salt(privacy_dir: Path) -> str:
    if value := os.environ.get(SALT_ENV):
        return value
    file = privacy_dir / "salt"
    if not file.exists():
        privacy_dir.mkdir(parents=True, exist_ok=True)
        # created readable by its owner only, and never overwritten: O_EXCL loses a race to another process
        try:
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(secrets.token_hex(32) + "\n")
    value = file.read_text(encoding="utf-8").strip()
    if not value:
        raise ValueError(f"{file} is empty: restore the salt (suppression entries depend on it) or delete the file")
    return value
