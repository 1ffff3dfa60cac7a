"""The import structure of pipeline/ (pyproject.toml [tool.importlinter]): no module imports a layer above its own,
and no two packages (or two modules of one package) import each other in a circle."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_no_import_runs_up_a_layer_or_in_a_circle():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
