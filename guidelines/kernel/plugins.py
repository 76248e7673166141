"""Registries for rubricate's extension points: a name -> object table filled three ways.

Why one helper: extractors, detectors, judge protocols, judges and exporters are each a
table that the code looks names up in, the CLI offers as choices, and a separate package
may extend. Each is a :class:`Registry` owned by the module that owns the job, filled by

- ``@REGISTRY.register("name")`` on a function or class (the decorator style of Inspect
  AI's ``@task``/``@scorer``), for extensions defined in code that is imported anyway;
- ``REGISTRY.add("name", "package.module:attribute")``: the built-ins, named by import path
  and imported only when first used (as rdflib's ``plugin.register``), so that listing the
  choices costs no import;
- the entry-point group ``REGISTRY.group`` (e.g. ``rubricate.exporters``) of any installed
  distribution, read once on first use (as rdflib's ``rdf.plugins.*`` groups): a package
  declares ``[project.entry-points."rubricate.exporters"] toy = "toy_export:export_toy"``.

A name registered in code wins over an entry point of the same name (a plug-in cannot
silently replace a built-in); the clash is reported as a warning. An unknown name, a plug-in
that fails to import or the wrong kind of object is a one-line ``ConfigurationError``.
"""
from __future__ import annotations

import functools
import importlib
import sys
import warnings
from contextlib import contextmanager
from importlib.metadata import EntryPoint, EntryPoints, entry_points
from typing import Any, Callable, Generic, Iterator, TypeVar

from rubricate.guidelines.kernel.errors import ConfigurationError

T = TypeVar("T")


def load_target(target: str) -> Any:
    """The object an import path ``package.module:attribute`` (or a bare module) names."""
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


Check = Callable[[str, Any], None]


@functools.lru_cache(maxsize=4)
def _installed_entry_points(path: tuple[str, ...]) -> EntryPoints:
    """Every installed entry point, read once per import path (one scan of the installed
    distributions serves all registries; a changed sys.path is scanned anew)."""
    return entry_points()


def _describe(obj: Any) -> str:
    return obj.__name__ if isinstance(obj, type) else type(obj).__name__


def callables(kind: str, shape: str) -> Check:
    """A registry check: the object must be callable (``shape`` says how it is called)."""
    def check(name: str, obj: Any) -> None:
        if not callable(obj):
            raise ConfigurationError(f"{kind} {name!r} must be a callable {shape} (got {_describe(obj)})")
    return check


def instances(kind: str, cls: type | str, key: str, *, subclass: bool = False) -> Check:
    """A registry check: the object must be an instance (or, with ``subclass``, a subclass)
    of ``cls`` (a class, or its import path to load only when checking) whose attribute
    ``key`` equals the registered name."""
    def check(name: str, obj: Any) -> None:
        want = load_target(cls) if isinstance(cls, str) else cls
        ok = issubclass(obj, want) if subclass and isinstance(obj, type) else \
            (not subclass and isinstance(obj, want))
        if not ok:
            what = "a subclass" if subclass else "an instance"
            raise ConfigurationError(f"{kind} {name!r} must be {what} of {want.__module__}."
                                 f"{want.__qualname__} (got {_describe(obj)})")
        if getattr(obj, key) != name:
            raise ConfigurationError(f"{kind} registered as {name!r} has {key} {getattr(obj, key)!r}")
    return check


class Registry(Generic[T]):
    """Named extensions of one kind (``kind`` names it in messages, ``group`` is its
    entry-point group). ``check(name, obj)`` may raise RubricateError for a wrong object."""

    def __init__(self, kind: str, group: str, check: Check | None = None) -> None:
        self.kind, self.group, self._check = kind, group, check
        self._objects: dict[str, T] = {}
        self._targets: dict[str, str | EntryPoint] = {}  # not loaded yet
        self._order: list[str] = []
        self._entry_points_read = False

    # -- filling --------------------------------------------------------------------------
    def register(self, name: str, obj: T | None = None, *, replace: bool = False) -> Any:
        """Register ``obj`` under ``name``; without ``obj``, a decorator that does so."""
        if obj is None:
            def decorator(target: T) -> T:
                self.register(name, target, replace=replace)
                return target
            return decorator
        self._claim(name, replace)
        if self._check is not None:
            self._check(name, obj)
        self._objects[name] = obj
        return obj

    def add(self, name: str, target: str, *, replace: bool = False) -> None:
        """Register the object at import path ``target``, imported when first asked for."""
        self._claim(name, replace)
        self._targets[name] = target

    def unregister(self, name: str) -> None:
        self._objects.pop(name, None)
        self._targets.pop(name, None)
        if name in self._order:
            self._order.remove(name)

    @contextmanager
    def registered(self, name: str, obj: T) -> Iterator[T]:
        """Register ``obj`` for the duration of a ``with`` block (tests, one-off runs)."""
        self.register(name, obj)
        try:
            yield obj
        finally:
            self.unregister(name)

    def _claim(self, name: str, replace: bool) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"a {self.kind} needs a non-empty string name, got {name!r}")
        if name in self._order:
            if not replace:
                raise ConfigurationError(f"{self.kind} {name!r} is already registered")
            self.unregister(name)
        self._order.append(name)

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        self._entry_points_read = True
        found = _installed_entry_points(tuple(sys.path)).select(group=self.group)
        for ep in sorted(found, key=lambda e: e.name):
            if ep.name in self._order:
                dist = getattr(ep.dist, "name", "?")
                warnings.warn(f"{self.kind} {ep.name!r} from entry point group {self.group} "
                              f"({dist}) ignored: the name is taken", stacklevel=3)
                continue
            self._order.append(ep.name)
            self._targets[ep.name] = ep

    # -- reading --------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every registered name, built-ins first, without importing any of them."""
        self._read_entry_points()
        return list(self._order)

    def code_names(self) -> list[str]:
        """The names registered in code so far (entry points are not read)."""
        return [n for n in self._order if not isinstance(self._targets.get(n), EntryPoint)]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def __len__(self) -> int:
        return len(self.names())

    def get(self, name: str) -> T:
        """The extension ``name``, imported on first use; a one-line error for an unknown or
        broken one."""
        if name not in self.names():
            raise ConfigurationError(f"unknown {self.kind} {name!r} (choose from {', '.join(self.names())})")
        if name not in self._objects:
            target = self._targets[name]
            where = target if isinstance(target, str) else \
                f"entry point {target.value} in group {self.group}"
            try:
                obj = load_target(target) if isinstance(target, str) else target.load()
            except Exception as exc:  # a broken plug-in must not look like a bug of ours
                raise ConfigurationError(f"cannot load {self.kind} {name!r} from {where}: "
                                     f"{type(exc).__name__}: {exc}") from None
            if self._check is not None:
                self._check(name, obj)
            self._objects[name] = obj
            del self._targets[name]
        return self._objects[name]

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def items(self) -> list[tuple[str, T]]:
        """(name, object) for every extension, importing each."""
        return [(name, self.get(name)) for name in self.names()]
