"""IP address arithmetic for assets and block lists (framework-free): CIDR parsing with clear errors, the
128-bit range of a network as fixed-width hex (IPv4 as IPv4-mapped), and longest-prefix resolution."""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from dataclasses import dataclass
from socket import AF_INET as _AF_INET
from socket import AF_INET6 as _AF_INET6
from socket import inet_pton as _pton
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
    """The 128-bit integer of an address (IPv4 mapped), or None when it is not an address. The C parser
    (``inet_pton``) answers the common case; what it refuses (scope ids, junk) goes through ``ipaddress``."""
    if not value:
        return None
    try:
        return _V4_MAPPED | int.from_bytes(_pton(_AF_INET, value), "big")
    except (OSError, TypeError, ValueError):
        pass
    try:  # an IPv4-mapped IPv6 address is the same integer as its IPv4 address
        return int.from_bytes(_pton(_AF_INET6, value), "big")
    except (OSError, TypeError, ValueError):
        pass
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
    """Longest-prefix match over networks. The networks (nested or disjoint, as CIDRs always are) are flattened
    once into sorted disjoint intervals, each carrying the value of the longest prefix covering it; a lookup is
    one ``bisect`` over the interval starts (IPv4 and IPv6 in the one 128-bit space, IPv4 mapped)."""

    def __init__(self) -> None:
        self._nets: dict[tuple[int, int], Any] = {}
        self._starts: list[int] | None = None
        self._ends: list[int] = []
        self._values: list[Any] = []

    def add(self, net: Net, value: Any) -> None:
        self._nets[(net.start, net.end)] = value
        self._starts = None

    def __len__(self) -> int:
        return len(self._nets)

    def _build(self) -> None:
        starts: list[int] = []
        ends: list[int] = []
        values: list[Any] = []

        def emit(s: int, e: int, v: Any) -> None:
            if s <= e:
                starts.append(s)
                ends.append(e)
                values.append(v)

        stack: list[tuple[int, int, Any]] = []  # the networks enclosing the sweep position, innermost last
        cur = 0
        for (s, e), v in sorted(self._nets.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
            while stack and stack[-1][1] < s:  # enclosing networks that end before this one starts
                _s, te, tv = stack.pop()
                emit(cur, te, tv)
                cur = te + 1
            if stack:
                emit(cur, s - 1, stack[-1][2])
            stack.append((s, e, v))
            cur = s
        while stack:
            _s, te, tv = stack.pop()
            emit(cur, te, tv)
            cur = te + 1
        self._starts, self._ends, self._values = starts, ends, values

    def lookup_int(self, n: int | None) -> Any:
        if n is None:
            return None
        if self._starts is None:
            self._build()
        i = bisect_right(self._starts, n) - 1
        if i >= 0 and n <= self._ends[i]:
            return self._values[i]
        return None

    def lookup(self, addr: str | None) -> Any:
        return self.lookup_int(addr_int(addr))
