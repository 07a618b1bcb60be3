"""What a report covers: the whole city, one department or one information system (a set of networks)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Scope:
    kind: str  # city | department | system
    key: str | None = None
    name: str = "city-wide"
    networks: tuple[IPNetwork, ...] | None = None  # None: every address (city-wide)
    systems: tuple[str, ...] = field(default_factory=tuple)
    org_id: str | None = None  # the owning organisation's id (departments and systems)

    @property
    def label(self) -> str:
        return "city" if self.kind == "city" else f"{self.kind}:{self.key}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "key": self.key, "name": self.name,
                "networks": None if self.networks is None else [str(n) for n in self.networks],
                "systems": list(self.systems)}

    def matcher(self):
        """A function ``ip -> bool`` (cached per address) telling whether an address is in scope."""
        if self.networks is None:
            return lambda _ip: True
        nets4 = [n for n in self.networks if n.version == 4]
        nets6 = [n for n in self.networks if n.version == 6]

        @lru_cache(maxsize=200_000)
        def inside(ip: str | None) -> bool:
            if not ip:
                return False
            try:
                a = ipaddress.ip_address(ip)
            except ValueError:
                return False
            return any(a in n for n in (nets4 if a.version == 4 else nets6))

        return inside


CITY = Scope(kind="city")
