"""The whole parameter tree checked once, when the Kedro context starts, before any data is read.

``core.settings.ProjectParameters`` says what is allowed; this module finds the file each key came from and
turns every problem into one line (file, key, what is wrong, what is allowed, the closest valid name).
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from bank_segmentation.core.consistency import UnknownName, unknown_names
from bank_segmentation.core.derivation import FITTED_BLOCKS, fit_to_table
from bank_segmentation.core.errors import ConfigurationError
from bank_segmentation.core.settings import ProjectParameters

PARAMETER_FILES = "parameters*.yml"
PARAMS_PREFIX = "params:"
WHOLE_TREE = "parameters"  # the catalog entry Kedro gives the whole parameter tree
MAX_SHOWN_VALUE = 80  # characters of a wrong value quoted in a message


def check_parameters(parameters: Mapping[str, Any], conf_dirs: Iterable[Path]) -> None:
    """Raise one ``ConfigurationError`` listing every problem of the parameter tree; return if there is none.

    First the shape (keys, types, ranges), then, when the shape is right, every column, group or role the
    settings name that the schema and the settings do not define, in the blocks written with the schema
    (the same conf environment). A block inherited from another environment is fitted to the table instead
    (``core.derivation``): what names columns the table lacks is left out, with a note.
    """
    origins = key_origins(conf_dirs)
    try:
        unknown = unknown_names(ProjectParameters.model_validate(dict(parameters)))
        schema_env = origins["schema"].parent if "schema" in origins else None
        written_with_schema = [
            name for name in unknown if getattr(origins.get(name.key.split(".", 1)[0]), "parent", None) == schema_env
        ]
        problems = [describe_unknown(name, origins) for name in written_with_schema]
    except ValidationError as error:
        problems = [describe_problem(problem, origins) for problem in error.errors()]
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigurationError(f"{len(problems)} problem(s) in the parameters, nothing was run:\n{listing}")


def key_origins(conf_dirs: Iterable[Path]) -> dict[str, Path]:
    """The parameters file each top-level key comes from (a later environment overrides an earlier one)."""
    origins: dict[str, Path] = {}
    for folder in conf_dirs:
        for path in sorted(folder.glob(PARAMETER_FILES)):
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            origins.update({str(key): path for key in content})
    return origins


def describe_unknown(unknown: UnknownName, origins: Mapping[str, Path]) -> str:
    """One line for a name the table or the settings do not define, with the closest valid one."""
    origin = origins.get(unknown.key.split(".", 1)[0])
    where = f"{_shown(origin)}: " if origin is not None else ""
    closest = difflib.get_close_matches(unknown.name, unknown.valid, n=1)
    hint = f"; did you mean {closest[0]!r}?" if closest else f" (valid: {', '.join(unknown.valid)})"
    return f"{where}{unknown.key}: unknown {unknown.kind} {unknown.name!r}{hint}"


def describe_problem(problem: Mapping[str, Any], origins: Mapping[str, Path]) -> str:
    """One line for one validation problem: file, dotted key, what is wrong and what would be valid."""
    location = [str(part) for part in problem["loc"]]
    key = ".".join(location) or "(parameters)"
    origin = origins.get(location[0]) if location else None
    where = f"{_shown(origin)}: " if origin is not None else "runtime --params: " if location[:1] else ""
    if problem["type"] == "extra_forbidden":
        allowed = allowed_keys(location[:-1])
        closest = difflib.get_close_matches(location[-1], allowed, n=1)
        hint = f"; did you mean {closest[0]!r}?" if closest else ""
        return f"{where}{key}: unknown key{hint} (allowed: {', '.join(allowed)})"
    if problem["type"] == "missing":
        return f"{where}{key}: required key is missing"
    if problem["type"] == "value_error":  # the message names the value already
        return f"{where}{key}: {str(problem['msg']).removeprefix('Value error, ')}"
    return f"{where}{key}: {problem['msg']} (got {_short(problem.get('input'))})"


def _shown(path: Path) -> str:
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_VALUE else f"{text[: MAX_SHOWN_VALUE - 3]}..."


def allowed_keys(path: list[str]) -> list[str]:
    """The keys a settings model accepts at ``path`` of the parameter tree."""
    annotation: Any = ProjectParameters
    for part in path:
        annotation = _child(annotation, part)
    model = _model_of(annotation)
    return sorted(field.alias or name for name, field in model.model_fields.items()) if model else []


def _child(annotation: Any, part: str) -> Any:
    model = _model_of(annotation)
    if model is not None:
        fields = {field.alias or name: field for name, field in model.model_fields.items()}
        return fields[part].annotation if part in fields else None
    if get_origin(annotation) in (dict, list):  # a named entry (features.kpis.X) or an item (domain_rules.0)
        return get_args(annotation)[-1]
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if get_origin(annotation) in (Union, types.UnionType):  # Optional[Model]
        models = [_model_of(arg) for arg in get_args(annotation)]
        return next((model for model in models if model is not None), None)
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def fit_catalog_parameters(catalog: Any, parameters: Mapping[str, Any]) -> list[str]:
    """Save the parameters fitted to the table into the catalog's ``params:`` entries that change; the notes.

    ``parameters`` are what Kedro feeds the catalog: ``parameters`` (the whole tree, typed blocks parsed) and
    one ``params:<key>`` entry per key and nested key.
    """
    tree = parameters[WHOLE_TREE]
    fitted = fit_to_table(ProjectParameters.model_validate(_plain(dict(tree))))
    if not fitted.notes:
        return []
    for name in [n for n in catalog.keys() if n.startswith(PARAMS_PREFIX)]:
        path = name.removeprefix(PARAMS_PREFIX).split(".")
        if path[0] not in FITTED_BLOCKS:
            continue
        current, value = _walk(tree, path), _walk(fitted.parameters, path)
        if value is _ABSENT or current is _ABSENT or _plain(value) == _plain(current):
            continue
        catalog.save(name, value if isinstance(current, BaseModel) else _plain(value))
    return fitted.notes


_ABSENT = object()


def _walk(value: Any, path: list[str]) -> Any:
    for part in path:
        if isinstance(value, BaseModel):
            fields = {field.alias or key: key for key, field in type(value).model_fields.items()}
            value = getattr(value, fields[part]) if part in fields else _ABSENT
        elif isinstance(value, Mapping):
            value = value.get(part, _ABSENT)
        else:
            return _ABSENT
        if value is _ABSENT:
            return _ABSENT
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value
