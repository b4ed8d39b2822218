"""Fast constructors for the frozen model dataclasses (the per-record hot path).

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``
looked up at call time: about 4 us for a SignIn, as much as the rest of the
normalizer. ``fast_constructor(SignIn)`` returns a function with the same
keyword signature and defaults that fills the slots directly. The result is an
ordinary SignIn: same type, equality, hashing, still frozen.

The object is made as an instance of a plain twin class with the same slots (the
same memory layout), whose attribute stores the interpreter does in a few
instructions, and is then given its real class. Calling each slot's descriptor
instead (``__set__``, the fallback for a class whose twin Python refuses) builds an
argument tuple per field: about 40 % more instructions for a SignIn, measured.
Like ``dataclasses`` itself, the function is generated from the fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def fast_constructor(cls: Callable[P, T]) -> Callable[P, T]:
    if not isinstance(cls, type) or not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    fields = [f for f in dataclasses.fields(cls) if f.init]
    env: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    params: list[str] = []
    for f in fields:
        if not f.name.isidentifier():
            raise TypeError(f"field name {f.name!r} is not an identifier")
        if f.default is not dataclasses.MISSING:
            env[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        elif f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: default_factory is not supported")
        else:
            params.append(f.name)
    twin = _twin(cls)
    if twin is not None:
        env["_twin"] = twin
        body = ["    o = _new(_twin)"]
        body += [f"    o.{f.name} = {f.name}" for f in fields]
        body.append("    o.__class__ = _cls")
    else:
        body = ["    o = _new(_cls)"]
        for f in fields:
            env[f"_set_{f.name}"] = cls.__dict__[f.name].__set__  # the slot's descriptor
            body.append(f"    _set_{f.name}(o, {f.name})")
    body.append("    return o")
    source = f"def make(*, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    # Generated from our own dataclass fields (identifiers checked above), as dataclasses does.
    exec(source, env)  # noqa: S102
    make: Callable[P, T] = env["make"]
    make.__qualname__ = make.__name__ = f"fast_{cls.__name__}"
    return make


def _twin(cls: type) -> type | None:
    """A plain class with the slots of ``cls``, whose instances may become ``cls``
    instances; None when Python does not allow that for ``cls``."""
    slots = cls.__dict__.get("__slots__")
    if not isinstance(slots, tuple) or cls.__bases__ != (object,):
        return None
    twin = type(f"_{cls.__name__}Slots", (), {"__slots__": slots, "__module__": cls.__module__})
    probe: Any = object.__new__(twin)
    try:
        probe.__class__ = cls  # Python's layout check, once
    except TypeError:
        return None
    return twin
