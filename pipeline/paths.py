"""Where the repository's own files are: the one place that knows the layout of the checkout."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DBT_PROJECT_FILE = DBT_PROJECT_DIR / "dbt_project.yml"
