"""IP address arithmetic for assets and block lists (framework-free): CIDR parsing with clear errors, the
128-bit range of a network as fixed-width hex (IPv4 as IPv4-mapped), and longest-prefix resolution."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

_V4_MAPPED = 0xFFFF << 32


class AddressError(ValueError):
    pass


@dataclass(frozen=True)
class Net:
    cidr: str  # normalised
    version: int
    prefix128: int  # prefix length in the 128-bit space
    start: int
    end: int

    @property
    def start_hex(self) -> str:
        return f"{self.start:032x}"

    @property
    def end_hex(self) -> str:
        return f"{self.end:032x}"

    @property
    def is_host(self) -> bool:
        return self.prefix128 == 128


def parse_net(value: Any) -> Net:
    """A network or host address (``10.0.0.0/24``, ``10.0.0.5``, ``2001:db8::/48``). Host bits set, junk,
    or an out-of-range prefix raise :class:`AddressError` with the reason."""
    if not isinstance(value, str) or not value.strip():
        raise AddressError("an address or CIDR is required")
    text = value.strip()
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise AddressError(f"malformed CIDR {text!r}: {exc}") from None
    if net.version == 4:
        start = _V4_MAPPED | int(net.network_address)
        end = _V4_MAPPED | int(net.broadcast_address)
        prefix = 96 + net.prefixlen
    else:
        start, end, prefix = int(net.network_address), int(net.broadcast_address), net.prefixlen
    return Net(str(net), net.version, prefix, start, end)


def addr_int(value: str | None) -> int | None:
    """The 128-bit integer of an address (IPv4 mapped), or None when it is not an address."""
    if not value:
        return None
    try:
        a = ipaddress.ip_address(value)
    except ValueError:
        return None
    if a.version == 4:
        return _V4_MAPPED | int(a)
    m = a.ipv4_mapped
    return _V4_MAPPED | int(m) if m is not None else int(a)


def addr_hex(value: str | None) -> str | None:
    n = addr_int(value)
    return None if n is None else f"{n:032x}"


class PrefixTable:
    """Longest-prefix match over networks: one dict per prefix length present, probed longest first."""

    def __init__(self) -> None:
        self._by_len: dict[int, dict[int, Any]] = {}
        self._lens: list[int] = []

    def add(self, net: Net, value: Any) -> None:
        d = self._by_len.setdefault(net.prefix128, {})
        d[net.start] = value
        self._lens = sorted(self._by_len, reverse=True)

    def __len__(self) -> int:
        return sum(map(len, self._by_len.values()))

    def lookup_int(self, n: int | None) -> Any:
        if n is None:
            return None
        for plen in self._lens:
            key = n & (((1 << plen) - 1) << (128 - plen)) if plen else 0
            hit = self._by_len[plen].get(key)
            if hit is not None:
                return hit
        return None

    def lookup(self, addr: str | None) -> Any:
        return self.lookup_int(addr_int(addr))
