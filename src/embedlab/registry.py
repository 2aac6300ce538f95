"""One registry shape for every named, pluggable thing: models, data sets, embedding sources,
explanation methods (the way spaCy's ``catalogue`` registries work).

A :class:`Registry` maps names to objects of one kind. ``register`` adds one (directly or as a
decorator), ``get`` finds one or raises embedlab's one-line error naming the closest known name,
``names`` lists them in registration order.

>>> from embedlab.registry import Registry
>>> shapes: Registry[int] = Registry("shape")
>>> @shapes.register("square")
... def square() -> int:
...     return 4
>>> _ = shapes.register("triangle", 3)
>>> shapes.names()
['square', 'triangle']
>>> shapes.get("triangle"), "circle" in shapes
(3, False)
>>> shapes.get("triangel")
Traceback (most recent call last):
...
embedlab.errors.ConfigError: unknown shape 'triangel' (did you mean 'triangle'?); known: square, triangle
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, overload

from embedlab.errors import ConfigError, EmbedlabError, unknown_name

T = TypeVar("T")
F = TypeVar("F")
D = TypeVar("D")
_MISSING = object()


class Registry(Generic[T]):
    """Names → objects of one kind (``kind`` names it in errors: "unknown model 'cnm' ...").

    ``error`` is the :class:`~embedlab.errors.EmbedlabError` class an unknown name raises
    (default :class:`~embedlab.errors.ConfigError`), so each caller keeps its CLI exit code.
    A name registered with ``listed=False`` (an alias, a retired version) is found by ``get``
    and ``in`` but left out of ``names()``, iteration and the error's list of known names.

    It also reads and writes like the dicts it replaced (``SOURCES`` was one): ``reg[name]``,
    ``get(name, default)``, ``values()``, ``items()``, ``reg[name] = obj`` (rebinds, as
    ``register(..., overwrite=True)``) and ``del reg[name]`` — so pytest's
    ``monkeypatch.setitem`` can add an entry for one test and take it away again.
    """

    def __init__(self, kind: str, *, error: type[EmbedlabError] = ConfigError) -> None:
        self.kind = kind
        self.error = error
        self._entries: dict[str, T] = {}
        self._unlisted: set[str] = set()

    @overload
    def register(self, name: str, obj: None = None, *, listed: bool = True,
                 overwrite: bool = False) -> Callable[[F], F]: ...

    @overload
    def register(self, name: str, obj: T, *, listed: bool = True,
                 overwrite: bool = False) -> T: ...

    def register(self, name: str, obj: T | None = None, *, listed: bool = True,
                 overwrite: bool = False) -> T | Callable[[F], F]:
        """Register ``obj`` as ``name`` and return it; without ``obj``, a decorator doing so.

        Registering the same object twice is a no-op; binding a taken name to another object
        raises ``ValueError`` unless ``overwrite`` (a programming error, not bad user input).
        """
        if obj is None:
            def decorate(fn: F) -> F:
                self._add(name, fn, listed, overwrite)  # type: ignore[arg-type]
                return fn

            return decorate
        self._add(name, obj, listed, overwrite)
        return obj

    def _add(self, name: str, obj: T, listed: bool, overwrite: bool) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.kind} names are non-empty strings; found {name!r}")
        if name in self._entries and self._entries[name] is not obj and not overwrite:
            raise ValueError(f"{self.kind} '{name}' is already registered")
        self._entries[name] = obj
        if listed:
            self._unlisted.discard(name)
        else:
            self._unlisted.add(name)

    @overload
    def get(self, name: str) -> T: ...

    @overload
    def get(self, name: str, default: D) -> T | D: ...

    def get(self, name: str, default: object = _MISSING) -> object:
        """The object registered as ``name``; unknown: ``default`` if given, else
        ``self.error`` with "did you mean"."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            if default is not _MISSING:
                return default
            raise self.unknown(name) from None

    def unknown(self, name: object) -> EmbedlabError:
        """The error for an unknown ``name``: the closest listed name, then every listed one."""
        return unknown_name(self.kind, str(name), self.names(), self.error)

    def names(self, *, unlisted: bool = False) -> list[str]:
        """Registered names in registration order (aliases too with ``unlisted=True``)."""
        return [n for n in self._entries if unlisted or n not in self._unlisted]

    def values(self) -> list[T]:
        """The listed objects, in registration order."""
        return [self._entries[n] for n in self.names()]

    def items(self) -> list[tuple[str, T]]:
        """``(name, object)`` of the listed names, in registration order."""
        return [(n, self._entries[n]) for n in self.names()]

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __setitem__(self, name: str, obj: T) -> None:
        self._add(name, obj, True, True)

    def __delitem__(self, name: str) -> None:
        if name not in self._entries:
            raise KeyError(name)
        del self._entries[name]
        self._unlisted.discard(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.names())})"
