"""Read a YAML file into a pydantic model, with errors that name the file and the key (config and contracts)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class YamlFileError(ValueError):
    """A file that cannot be used. The message names the file and the key."""

    def __init__(self, file: Path | str, key: str, message: str):
        self.file, self.key = str(file), key
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")


def _suggest(root: type[BaseModel], loc: tuple) -> str:
    """' (did you mean ...?)' for a misspelt key, found in the (nested) model the key belongs to."""
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if model else None
        ann = getattr(field, "annotation", None)
        model = next(
            (a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
        if model is None:
            return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_yaml_model(file: Path, model: type[M], error: type[YamlFileError], not_found: str = "file not found") -> M:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(file, "", not_found) from None
    return parse_yaml_model(text, file, model, error)


def parse_yaml_model(text: str, file: Path | str, model: type[M], error: type[YamlFileError]) -> M:
    """`text` as `model`; errors name `file` (a path, or where the text came from)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(file, "", f"invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise error(file, "", "expected a mapping of keys to values")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = "unknown key" + _suggest(model, err["loc"]) if err["type"] == "extra_forbidden" else err["msg"]
        raise error(file, key, msg) from None
