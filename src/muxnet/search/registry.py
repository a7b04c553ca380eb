"""Name -> class tables filled by a class decorator, so that configuration names select implementations
without ``if name == ...`` switches (the search's algorithms and scalarisations)."""

from __future__ import annotations

from collections.abc import Callable


class Registry(dict):
    """Registered classes by name; each registered class gets its name as ``cls.name``."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(self, name: str) -> Callable[[type], type]:
        def wrap(cls: type) -> type:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            cls.name = name
            self[name] = cls
            return cls

        return wrap

    def lookup(self, name: str) -> type:
        """The class registered as ``name``, or one line naming the choices."""
        try:
            return self[name]
        except KeyError:
            raise ValueError(f"{self.kind}: unknown {name!r}; choose one of {', '.join(sorted(self))}") from None


__all__ = ["Registry"]
