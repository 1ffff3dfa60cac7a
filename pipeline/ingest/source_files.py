"""Which files a contract names: the matches of its glob that lie under `sources.root`, and the ones refused.

A contract's glob is relative to the sources root, and what it finds must stay there: a link (or a link to a
folder) that leads outside the root is refused without being opened, so that a contract or a file dropped
into the root cannot make the job read `/etc/passwd` or another company's exports and keep their lines in
`dq.quarantine`. A link to a file inside the root is read like the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.contracts.model import SourceContract


@dataclass(frozen=True)
class SourceFiles:
    files: list[Path]  # matches to read, as found (under the root, not resolved)
    refused: list[Path]  # matches that lead outside the root: recorded as unreadable, never opened


def find_source_files(root: Path, contract: SourceContract) -> SourceFiles:
    real_root = root.resolve()
    files, refused = [], []
    for path in sorted(root.glob(contract.path)):
        real = path.resolve()
        if not real.is_relative_to(real_root):
            if path.is_symlink() or real.is_file():
                refused.append(path)
        elif real.is_file():
            files.append(path)
    return SourceFiles(files, refused)


def list_source_files(root: Path, contract: SourceContract) -> list[Path]:
    """The files of a contract that are read: under the root, links resolved and checked."""
    return find_source_files(root, contract).files


def unmatched_globs(root: Path, contracts: list[SourceContract]) -> list[str]:
    """What to say of the contracts whose glob matches no file under the root (a misspelt path, a folder renamed):
    said before the run, not found out from an empty entity at its end. A contract whose files have not come yet
    is legitimate, so this is a warning."""
    import difflib

    out = []
    children = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    for contract in contracts:
        if find_source_files(root, contract).files:
            continue
        first = contract.path.replace("\\", "/").split("/")[0]
        close = difflib.get_close_matches(first, children, n=1) if not any(c in first for c in "*?[") else []
        hint = f" (did you mean {close[0]!r}?)" if close and close[0] != first else ""
        out.append(
            f"the contract of source {contract.source!r} ({contract.entity}): path {contract.path!r} matches no file "
            f"under {root}{hint}"
        )
    return out
