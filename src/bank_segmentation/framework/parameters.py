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
    tree = plain(dict(parameters))
    try:
        problems = _unknown_names_written_with_schema(ProjectParameters.model_validate(tree), origins)
    except ValidationError as error:
        problems = [describe_problem(problem, origins) for problem in error.errors()]
        # Misspelt keys aside, the settings may still be read: then the names they hold are checked too.
        misspelt = [problem["loc"] for problem in error.errors() if problem["type"] == "extra_forbidden"]
        if len(misspelt) == len(problems):
            parsed = ProjectParameters.model_validate(_without(tree, misspelt))
            problems += _unknown_names_written_with_schema(parsed, origins)
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigurationError(f"{len(problems)} problem(s) in the parameters, nothing was run:\n{listing}")


def _unknown_names_written_with_schema(parameters: ProjectParameters, origins: Mapping[str, Path]) -> list[str]:
    """One line per unknown column, group or role in the blocks of the schema's conf environment."""
    schema_env = origins["schema"].parent if "schema" in origins else None
    return [
        describe_unknown(name, origins)
        for name in unknown_names(parameters)
        if getattr(origins.get(name.key.split(".", 1)[0]), "parent", None) == schema_env
    ]


def _without(tree: Any, locations: Iterable[tuple[Any, ...]]) -> Any:
    """A copy of a plain parameter tree without the keys at ``locations``."""
    copy = yaml.safe_load(yaml.safe_dump(tree))
    for location in locations:
        parent = copy
        for part in location[:-1]:
            parent = parent[part]
        parent.pop(location[-1], None)
    return copy


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
    where = _where(unknown.key.split(".", 1)[0], origins)
    closest = difflib.get_close_matches(unknown.name, unknown.valid, n=1)
    hint = f"; did you mean {closest[0]!r}?" if closest else f" (valid: {', '.join(unknown.valid)})"
    if not unknown.valid:
        hint = f" (there is no {unknown.kind} at all)"
    return f"{where}{unknown.key}: unknown {unknown.kind} {unknown.name!r}{hint}"


def describe_problem(problem: Mapping[str, Any], origins: Mapping[str, Path]) -> str:
    """One line for one validation problem: file, dotted key, what is wrong and what would be valid."""
    location = [str(part) for part in problem["loc"]]
    key = ".".join(location) or "(parameters)"
    where = _where(location[0], origins) if location else ""
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


def _where(top_key: str, origins: Mapping[str, Path]) -> str:
    """The file a top-level key comes from, as a message prefix (relative to the project when it can be)."""
    origin = origins.get(top_key)
    if origin is None:
        return "runtime --params: "
    return f"{in_project(origin)}: "


def in_project(path: str | Path) -> str:
    """``path`` relative to the working directory (the project) where it lies inside it, else as given."""
    absolute = Path(path)
    return str(absolute.relative_to(Path.cwd())) if absolute.is_relative_to(Path.cwd()) else str(path)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN_VALUE else f"{text[: MAX_SHOWN_VALUE - 3]}..."


def allowed_keys(path: list[str]) -> list[str]:
    """The keys a settings model accepts at ``path`` of the parameter tree."""
    annotation: Any = ProjectParameters
    for part in path:
        annotation = _child(annotation, part)
    model = _model_of(annotation)
    return sorted(_attributes_by_key(model)) if model else []


def _child(annotation: Any, part: str) -> Any:
    model = _model_of(annotation)
    if model is not None:
        attributes = _attributes_by_key(model)
        return model.model_fields[attributes[part]].annotation if part in attributes else None
    if get_origin(annotation) in (dict, list):  # a named entry (features.kpis.X) or an item (domain_rules.0)
        return get_args(annotation)[-1]
    return None


def _attributes_by_key(model: type[BaseModel]) -> dict[str, str]:
    """A settings model's attribute names by the key written in the YAML (the alias where there is one)."""
    return {field.alias or name: name for name, field in model.model_fields.items()}


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
    fitted = fit_to_table(ProjectParameters.model_validate(plain(dict(tree))))
    if not fitted.notes:
        return []
    for name in [n for n in catalog.keys() if n.startswith(PARAMS_PREFIX)]:
        key = name.removeprefix(PARAMS_PREFIX)
        if key.split(".", 1)[0] not in FITTED_BLOCKS:
            continue
        try:
            current, value = value_at(tree, key), value_at(fitted.parameters, key)
        except KeyError:
            continue
        if plain(value) != plain(current):
            catalog.save(name, value if isinstance(current, BaseModel) else plain(value))
    return fitted.notes


def value_at(tree: Any, dotted_key: str) -> Any:
    """The value at ``dotted_key`` of a parameter tree of dicts and typed settings, as ``params:<key>`` feeds it."""
    value = tree
    for part in dotted_key.split("."):
        if isinstance(value, BaseModel):
            value = getattr(value, _attributes_by_key(type(value))[part])
        elif isinstance(value, Mapping):
            value = value[part]
        else:
            raise KeyError(dotted_key)
    return value


def plain(value: Any) -> Any:
    """Typed settings anywhere in ``value`` turned back into the plain parameter trees they were read from."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    return value
