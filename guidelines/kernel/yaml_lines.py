"""YAML that remembers line numbers, so data errors can name the line they come from.

Booleans follow YAML 1.2 (true/false only): "yes" and "no" are answers here, not booleans.

Mappings load as :class:`LineDict` (a plain ``dict`` with a ``line`` attribute, 1-based),
which serialises to JSON like any dict.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from rubricate.guidelines.kernel.errors import RubricateError
from rubricate.guidelines.kernel.fileio import bounded_loader, yaml_error


class LineDict(dict):
    """A mapping read from YAML, with the line of its first key (and of each key)."""

    line: int | None = None
    key_lines: dict | None = None


class _Loader(bounded_loader()):  # type: ignore[misc]
    """SafeLoader with YAML 1.2 booleans: only true/false, so ``answer: no`` stays "no";
    alias expansion bounded (fileio.bounded_loader)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    out.line = node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> Any:
    """Parse ``path``; a one-line RubricateError naming the file and line on bad YAML."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricateError("file not found", path=str(path)) from None
    except UnicodeDecodeError:
        raise RubricateError("not valid UTF-8", path=str(path)) from None
    except OSError as exc:
        raise RubricateError(f"cannot read file: {exc.strerror or exc}", path=str(path)) from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise yaml_error(exc, path) from None


def line_of(value: Any) -> int | None:
    return getattr(value, "line", None)


def key_line(value: Any, key: str) -> int | None:
    """The line of ``key`` in a mapping read by ``load_yaml`` (else the mapping's line), so an
    error about one field names that field's line."""
    return (getattr(value, "key_lines", None) or {}).get(key) or line_of(value)


def plain(value: Any) -> Any:
    """Deep copy as builtin dicts/lists (drops line information)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
