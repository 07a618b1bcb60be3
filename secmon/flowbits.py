"""The one flowbits parser, shared by lint and the policy build (flowbit dependency resolution).

``flowbits:<op>[,<name>[<|&>name…]]`` — ``set``/``setx``/``unset``/``toggle`` set or clear bits,
``isset``/``isnotset`` check them (``a|b`` any of, ``a&b`` all of), ``noalert`` stands alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SETTERS = frozenset({"set", "setx", "unset", "toggle"})
GETTERS = frozenset({"isset", "isnotset"})
OPERATIONS = SETTERS | GETTERS | {"noalert"}


@dataclass(frozen=True)
class Flowbit:
    op: str
    names: tuple[str, ...]

    @property
    def sets(self) -> bool:
        return self.op in SETTERS

    @property
    def checks(self) -> bool:
        return self.op in GETTERS

    @property
    def known(self) -> bool:
        return self.op in OPERATIONS


def parse_flowbit(value: str) -> Flowbit:
    """Parse one flowbits option value (``setx`` takes a third field, the expiry, which is ignored here)."""
    op, _, rest = (value or "").partition(",")
    op = op.strip()
    if not rest:
        return Flowbit(op, ())
    name = rest.split(",", 1)[0].strip()
    return Flowbit(op, tuple(n.strip() for n in re.split(r"[|&]", name) if n.strip()))
