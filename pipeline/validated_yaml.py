"""Read a YAML file into a pydantic model, with errors that name the file and the key (config and contracts).

Stricter than YAML itself, since a person edits these files: a key given twice is an error naming both lines (YAML
keeps the last one without a word), an impossible date (2026-13-01) is an error naming its line, and no number may
be NaN or infinite (a NaN threshold compares false with everything: everyone would score 1).
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


class YamlFileError(ValueError):
    """A file that cannot be used. The message names the file and the key."""

    def __init__(self, file: Path | str, key: str, message: str):
        self.file, self.key = str(file), key
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")


class StrictModel(BaseModel):
    """A block of a validated file: a key the model does not know is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping and naming the line of a bad date."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<: *defaults' may be overridden by the keys after it
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice: on line {seen[key]} and again on line {line}", None
                )
            seen[key] = line
        return super().construct_mapping(node, deep)


def _timestamp(loader: _StrictLoader, node: yaml.ScalarNode):
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} on line {node.start_mark.line + 1} is not a date: {exc}", None
        ) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


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


def _not_finite(value: Any, path: str = "") -> str | None:
    """The key path of the first NaN or infinite number in a validated model's values, if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "(top)"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list | tuple) else ()
    for key, item in items:
        found = _not_finite(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def load_yaml_model(file: Path, model: type[M], error: type[YamlFileError], not_found: str = "file not found") -> M:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(file, "", not_found) from None
    return parse_yaml_model(text, file, model, error)


def load_yaml(text: str) -> Any:
    """YAML as _StrictLoader reads it (raises yaml.YAMLError)."""
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)


def parse_yaml_model(text: str, file: Path | str, model: type[M], error: type[YamlFileError]) -> M:
    """`text` as `model`; errors name `file` (a path, or where the text came from)."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise error(file, "", f"invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise error(file, "", "expected a mapping of keys to values")
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        msg = "unknown key" + _suggest(model, err["loc"]) if err["type"] == "extra_forbidden" else err["msg"]
        raise error(file, key, msg) from None
    bad = _not_finite(parsed.model_dump())
    if bad:
        raise error(file, bad, "a number may not be NaN or infinite")
    return parsed
