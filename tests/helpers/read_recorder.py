"""A ``paramwise_cfg`` that records the keys a constructor reads, to check
:data:`gc_mmdet.engine.optimizers.paramwise.KNOWN_READERS` against the
installed constructors (which read with ``[]``, ``get`` and attributes)."""

from typing import Any, Set


class ReadRecorder(dict):
    """Reads through ``[]``, ``get``, ``pop``, ``setdefault`` and attribute
    access record one key; ``read`` holds them."""

    def __init__(self, data: dict) -> None:
        super().__init__(data)
        self.read: Set[str] = set()

    def __getitem__(self, key: Any) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def pop(self, key: Any, *default: Any) -> Any:
        self.read.add(key)
        return super().pop(key, *default)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        self.read.add(key)
        return super().setdefault(key, default)

    def __getattr__(self, key: str) -> Any:
        if key.startswith('__') or key == 'read':
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None
