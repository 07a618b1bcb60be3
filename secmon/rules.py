"""Tolerant loading of Suricata rule files (framework-free).

suricataparser parses each rule's option list; everything around it is ours: reading files as UTF-8 with
replacement, joining ``\\``-continued lines, telling rules from comments, splitting the header, Suricata 7/8
actions (incl. ``rejectsrc/rejectdst/rejectboth`` and 8's ``accept``), ``gid`` (default 1), metadata as a
multi-dict and unescaped ``msg``. Every physical line of a file ends up as part of a rule, a comment or
an error carrying file, line number and reason — one bad line never aborts a file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from suricataparser import parse_rule as _sp_parse_rule
from suricataparser.exceptions import RuleParseException

ACTIONS = ("alert", "drop", "pass", "reject", "rejectsrc", "rejectdst", "rejectboth", "accept")
DIRECTIONS = ("->", "<>", "=>")
#: suricata-update's default ignore list
DEFAULT_IGNORE = ("*deleted.rules",)

# same shape as suricataparser's / suricata-update's rule_pattern
_RULE_RE = re.compile(r"^(?P<hashes>#*)[\s#]*(?P<raw>(?P<header>[^()]+)\((?P<options>.*)\)$)", re.S)
_ACTION_START = re.compile(r"^#*\s*(?P<action>[a-z]+)(?::[a-z_]+)?[ \t]")


class RuleLoadError(Exception):
    """A path that cannot be read at all (missing, a directory without rules, unreadable)."""


@dataclass
class Rule:
    file: str
    line: int
    end_line: int
    enabled: bool
    action: str
    proto: str
    src: str
    sport: str
    direction: str
    dst: str
    dport: str
    sid: int | None
    gid: int = 1
    rev: int | None = None
    msg: str | None = None
    classtype: str | None = None
    priority: str | None = None
    options: list[tuple[str, str | None]] = field(default_factory=list)
    metadata: list[tuple[str, str]] = field(default_factory=list)
    flowbits: list[str] = field(default_factory=list)
    raw: str = ""
    noalert: bool = False

    @property
    def id(self) -> tuple[int, int]:
        return (self.gid, self.sid or 0)

    @property
    def rule_id(self) -> str:
        return f"{self.gid}:{self.sid}"

    @property
    def group(self) -> str:
        return self.file

    @property
    def header(self) -> str:
        return " ".join((self.action, self.proto, self.src, self.sport, self.direction, self.dst, self.dport))

    def format(self) -> str:
        """The rule as suricata-update writes it (``# `` prefix when disabled, ``noalert;`` when forced)."""
        raw = self.raw
        if self.noalert and "noalert;" not in raw:
            raw = re.sub(r"( *sid\: *[0-9]+\;)", r" noalert;\1", raw)
        return ("" if self.enabled else "# ") + raw

    def option(self, name: str) -> str | None:
        for n, v in self.options:
            if n == name:
                return v
        return None

    def content_hash(self) -> str:
        return hashlib.sha256(self.raw.encode()).hexdigest()


@dataclass
class LineIssue:
    file: str
    line: int
    reason: str
    text: str = ""
    end_line: int | None = None


@dataclass
class RuleFile:
    path: str
    rules: list[Rule] = field(default_factory=list)
    errors: list[LineIssue] = field(default_factory=list)
    comment_lines: int = 0
    blank_lines: int = 0
    total_lines: int = 0
    sha256: str = ""

    @property
    def accounted_lines(self) -> int:
        return (sum(r.end_line - r.line + 1 for r in self.rules) + sum((e.end_line or e.line) - e.line + 1
                for e in self.errors) + self.comment_lines + self.blank_lines)


@dataclass
class Classification:
    name: str
    description: str
    priority: int


@dataclass
class RuleSet:
    files: list[RuleFile] = field(default_factory=list)
    classifications: dict[str, Classification] = field(default_factory=dict)
    thresholds: list[dict] = field(default_factory=list)
    config_errors: list[LineIssue] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)
    #: (file name, SHA-256) of the configuration files that change the effective set
    #: (``classification.config``, ``threshold.config``)
    config_files: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rules(self) -> list[Rule]:
        return [r for f in self.files for r in f.rules]

    @property
    def errors(self) -> list[LineIssue]:
        return [e for f in self.files for e in f.errors] + self.config_errors

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: os.path.basename(f.path)):
            h.update(os.path.basename(f.path).encode() + b"\0" + f.sha256.encode() + b"\n")
        for name, digest in sorted(self.config_files):
            h.update(b"config\0" + name.encode() + b"\0" + digest.encode() + b"\n")
        return h.hexdigest()

    def stats(self) -> dict:
        rules = self.rules
        return {
            "files": len(self.files),
            "rules": len(rules),
            "enabled": sum(1 for r in rules if r.enabled),
            "disabled": sum(1 for r in rules if not r.enabled),
            "errors": len(self.errors),
            "comment_lines": sum(f.comment_lines for f in self.files),
            "classifications": len(self.classifications),
            "thresholds": len(self.thresholds),
            "ignored_files": len(self.ignored_files),
        }


# ---------------------------------------------------------------------------------------------- header


def split_header(header: str) -> list[str] | None:
    """Split a rule header into tokens, keeping ``[...]`` groups (nested) together; tabs count as spaces."""
    if "[" not in header and "]" not in header:
        return header.split()
    tokens: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in header.strip():
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                return None
        if ch in " \t\r\n" and depth == 0:
            if cur:
                tokens.append("".join(cur))
                cur = []
            continue
        cur.append(ch)
    if depth != 0:
        return None
    if cur:
        tokens.append("".join(cur))
    return tokens


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _split_unescaped(value: str, sep: str) -> list[str]:
    if "\\" not in value:
        return value.split(sep)
    parts: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            cur.append(value[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def parse_metadata(value: str) -> list[tuple[str, str]]:
    out = []
    for item in _split_unescaped(value, ","):
        item = item.strip()
        if not item:
            continue
        key, _, val = item.partition(" ")
        out.append((key.strip(), _unescape(val.strip())))
    return out


def _quotes_balanced(options: str) -> bool:
    inside = False
    i = 0
    while i < len(options):
        ch = options[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            inside = not inside
        i += 1
    return not inside


class RuleSyntaxError(ValueError):
    pass


_NEXT_OPTION = re.compile(r"\s+[A-Za-z_][A-Za-z0-9_.]*\s*(?::|$)")


def _inner_quote(value: str) -> bool:
    """A quoted option value whose closing quote is followed by another option (``msg:"x" content:"y"``,
    ``msg:"x" nocase``): a missing ``;``. Quotes inside a pcre/content value are otherwise legal."""
    i, n = 1, len(value) - 1
    while i < n:
        ch = value[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"' and _NEXT_OPTION.match(value, i + 1):
            return True
        i += 1
    return False


#: Suricata's sid, gid and rev are 32-bit unsigned integers
UINT32_MAX = 2**32 - 1


def _has_rule_header(text: str) -> bool:
    """Text (commented or not) whose part before ``(`` is a full rule header: a rule, not prose."""
    head = text.lstrip("#").strip().split("(", 1)
    if len(head) != 2:
        return False
    tokens = split_header(head[0])
    return bool(tokens) and len(tokens) == 7 and tokens[4] in DIRECTIONS


def parse_rule_text(text: str, *, file: str = "<string>", line: int = 1, end_line: int | None = None) -> Rule:
    """Parse one (joined) rule, possibly commented out. Raises :class:`RuleSyntaxError` with a reason."""
    text = text.strip()
    if "\x00" in text:
        raise RuleSyntaxError("NUL character in the rule (binary data?)")
    m = _RULE_RE.match(text)
    if not m:
        if text.count("(") != text.count(")"):
            raise RuleSyntaxError("unbalanced parentheses")
        raise RuleSyntaxError("not a rule: expected 'action proto src sport -> dst dport (options;)'")
    enabled = not m.group("hashes")
    tokens = split_header(m.group("header"))
    if tokens is None:
        raise RuleSyntaxError("unbalanced brackets in header")
    if len(tokens) != 7:
        raise RuleSyntaxError(f"header has {len(tokens)} fields, expected 7 (action proto src sport dir dst dport)")
    action, proto, src, sport, direction, dst, dport = tokens
    base_action = action.split(":", 1)[0]
    if base_action not in ACTIONS:
        raise RuleSyntaxError(f"unknown action {action!r}")
    options_text = m.group("options").strip()
    if not options_text.endswith(";"):
        hint = " (unbalanced quotes?)" if not _quotes_balanced(options_text) else ""
        raise RuleSyntaxError("option list does not end with ';'" + hint)
    # suricataparser parses the option list; it only knows four actions, so hand it a neutral header
    try:
        sp = _sp_parse_rule(f"alert {proto} {src} {sport} {direction} {dst} {dport} ({options_text})")
    except ValueError:
        raise RuleSyntaxError("non-integer value for sid, gid or rev") from None
    except (RuleParseException, IndexError, AttributeError) as exc:
        hint = "; unbalanced quotes" if not _quotes_balanced(options_text) else ""
        raise RuleSyntaxError(f"option syntax error ({type(exc).__name__}{hint})") from None
    if sp is None:
        raise RuleSyntaxError("suricataparser rejected the rule")
    options: list[tuple[str, str | None]] = []
    rule = Rule(file=file, line=line, end_line=end_line or line, enabled=enabled, action=action, proto=proto,
                src=src, sport=sport, direction=direction, dst=dst, dport=dport, sid=None,
                raw=m.group("raw").strip())
    for opt in sp.options:
        name = opt.name.strip()
        value = opt.value
        if value is not None and not isinstance(value, str):  # suricataparser Metadata
            value = ", ".join(value.data)
        if not name:
            raise RuleSyntaxError("empty option (';;')")
        if value is not None and value.startswith('"') and (len(value) < 2 or not value.endswith('"')
                                                             or value.endswith('\\"') and not value.endswith('\\\\"')):
            raise RuleSyntaxError(f"unbalanced quotes in option {name!r}")
        if value is not None and value.startswith('"') and _inner_quote(value):
            raise RuleSyntaxError(f"unescaped quote inside the value of {name!r} (missing ';' between options)")
        options.append((name, value))
        try:
            if name == "sid":
                rule.sid = int(value or "")
            elif name == "gid":
                rule.gid = int(value or "")
            elif name == "rev":
                rule.rev = int(value or "")
        except ValueError:
            raise RuleSyntaxError(f"{name} is not an integer: {value!r}") from None
        if name in ("sid", "gid", "rev") and getattr(rule, name) is not None and getattr(rule, name) > UINT32_MAX:
            raise RuleSyntaxError(f"{name} {getattr(rule, name)} is out of range (at most {UINT32_MAX})")
        if name == "sid" and rule.sid is not None and rule.sid < 1:
            raise RuleSyntaxError(f"sid must be a positive integer, got {rule.sid}")
        if name in ("gid", "rev") and getattr(rule, name) is not None and getattr(rule, name) < 0:
            raise RuleSyntaxError(f"{name} must not be negative, got {getattr(rule, name)}")
        if name == "msg" and value is not None:
            v = value.strip()
            if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
                v = v[1:-1]
            rule.msg = _unescape(v)
        elif name == "classtype":
            rule.classtype = value
        elif name == "priority":
            rule.priority = value
        elif name == "metadata":
            rule.metadata.extend(parse_metadata(value or ""))
        elif name == "flowbits":
            rule.flowbits.append(value or "")
            if value and "noalert" in value:
                rule.noalert = True
        elif name == "noalert":
            rule.noalert = True
    rule.options = options
    if rule.sid is None:
        raise RuleSyntaxError("missing sid")
    return rule


# ---------------------------------------------------------------------------------------------- files


def _looks_like_rule(text: str) -> bool:
    m = _ACTION_START.match(text)
    return bool(m and m.group("action") in ACTIONS)


#: longest physical line read into memory; longer ones are reported (and skipped) without being loaded
MAX_RULE_LINE = 1 << 20


class _Oversized:
    __slots__ = ("length",)

    def __init__(self, length: int):
        self.length = length


def _physical_lines(text: str) -> Iterator[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    yield from lines


def _physical_lines_of_file(fh, hasher) -> Iterator[str | _Oversized]:
    readline = fh.readline
    while True:
        data = readline(MAX_RULE_LINE + 1)
        if not data:
            return
        hasher.update(data)
        if len(data) > MAX_RULE_LINE and not data.endswith(b"\n"):
            total = len(data)
            while True:
                more = readline(1 << 20)
                hasher.update(more)
                total += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield _Oversized(total)
            continue
        yield data.decode("utf-8", errors="replace").rstrip("\n")


def iter_logical_lines(lines) -> Iterator[tuple[int, int, str | _Oversized]]:
    """(first line, last line, joined text) with ``\\`` continuations joined as suricata-update does.
    ``lines`` is the text of a file or an iterable of its physical lines."""
    if isinstance(lines, str):
        lines = _physical_lines(lines)
    buf = ""
    start = 0
    no = 0
    for no, line in enumerate(lines, 1):
        if isinstance(line, _Oversized):
            if buf:
                yield start, no - 1, buf
                buf = ""
            yield no, no, line
            continue
        line = line.rstrip("\r")
        if not buf:
            start = no
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            buf = f"{buf}{stripped[:-1]} "
            continue
        yield start, no, buf + line
        buf = ""
    if buf:
        yield start, no, buf


def _parse_lines(rf: RuleFile, lines) -> RuleFile:
    path = rf.path
    for start, end, logical in iter_logical_lines(lines):
        rf.total_lines = end
        if isinstance(logical, _Oversized):
            rf.errors.append(LineIssue(path, start, f"line longer than {MAX_RULE_LINE} bytes ({logical.length})",
                                       "", end))
            continue
        s = logical.strip()
        if not s:
            rf.blank_lines += end - start + 1
            continue
        if "\x00" in s:
            rf.errors.append(LineIssue(path, start, "binary content (NUL bytes)", s[:300].replace("\x00", "\\x00"),
                                       end))
            continue
        commented = s.startswith("#")
        if commented and not _looks_like_rule(s):
            rf.comment_lines += end - start + 1
            continue
        if not commented and not _looks_like_rule(s):
            rf.errors.append(LineIssue(path, start, "not a rule or comment (unknown action or garbage)",
                                       logical[:300], end))
            continue
        try:
            rf.rules.append(parse_rule_text(s, file=path, line=start, end_line=end))
        except RuleSyntaxError as exc:
            if commented and not s.rstrip().endswith(")") and not _has_rule_header(s):
                # prose that starts like a rule ("# alert if STARTTLS ...") is a comment; a disabled rule
                # with its header and options but no closing ")" is an error
                rf.comment_lines += end - start + 1
            else:
                rf.errors.append(LineIssue(path, start, str(exc), logical[:300], end))
    return rf


def parse_text(text: str, path: str = "<string>") -> RuleFile:
    rf = RuleFile(path=path, sha256=hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest())
    return _parse_lines(rf, _physical_lines(text))


def read_text(path: str | os.PathLike) -> str:
    data = Path(path).read_bytes()
    return data.decode("utf-8", errors="replace")


def parse_file(path: str | os.PathLike) -> RuleFile:
    """Parse a rule file, streaming: memory is bounded by :data:`MAX_RULE_LINE`, whatever the file holds."""
    hasher = hashlib.sha256()
    rf = RuleFile(path=str(path))
    with open(path, "rb") as fh:
        _parse_lines(rf, _physical_lines_of_file(fh, hasher))
    rf.sha256 = hasher.hexdigest()
    return rf


def parse_classification(text: str, path: str = "<string>") -> tuple[dict[str, Classification], list[LineIssue]]:
    out: dict[str, Classification] = {}
    errors: list[LineIssue] = []
    for no, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"^config\s+classification\s*:\s*([^,]+),([^,]*),\s*(\d+)\s*$", s)
        if not m:
            errors.append(LineIssue(path, no, "malformed classification line", s[:300]))
            continue
        out[m.group(1).strip()] = Classification(m.group(1).strip(), m.group(2).strip(), int(m.group(3)))
    return out, errors


_THRESH_RE = re.compile(r"^(threshold|event_filter|suppress|rate_filter)\s+(.*)$")


def parse_threshold_config(text: str, path: str = "<string>") -> tuple[list[dict], list[LineIssue]]:
    out: list[dict] = []
    errors: list[LineIssue] = []
    for no, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = _THRESH_RE.match(s)
        if not m:
            errors.append(LineIssue(path, no, "unknown threshold.config directive", s[:300]))
            continue
        params: dict[str, str] = {}
        ok = True
        for part in m.group(2).split(","):
            part = part.strip()
            if not part:
                continue
            k, _, v = part.partition(" ")
            if not v:
                ok = False
            params[k.strip()] = v.strip()
        try:
            gid = int(params.get("gen_id", "1"))
            sid = int(params["sig_id"])
        except (KeyError, ValueError):
            ok = False
        else:
            ok = ok and 0 <= gid <= UINT32_MAX and 0 < sid <= UINT32_MAX
        if not ok:
            errors.append(LineIssue(path, no, "malformed threshold.config entry (gen_id/sig_id)", s[:300]))
            continue
        out.append({"kind": m.group(1), "gid": gid, "sid": sid, "params": params, "file": path, "line": no})
    return out, errors


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*") if x.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            raise RuleLoadError(f"no such file or directory: {p}")
    return out


def load_ruleset(paths: Iterable[str | os.PathLike], *, ignore: Iterable[str] = DEFAULT_IGNORE) -> RuleSet:
    """Load ``.rules``, ``classification.config`` and ``threshold.config`` files from files and trees.

    Rule files are taken in sorted path order (as suricata-update does); files matching ``ignore``
    (default ``*deleted.rules``) are listed in ``ignored_files`` and not loaded.
    """
    rs = RuleSet()
    ignore = tuple(ignore)
    files = expand_paths(paths)
    for p in sorted(files, key=lambda x: str(x)):
        name = p.name
        if name.endswith(".rules"):
            if any(fnmatch.fnmatch(name, pat) for pat in ignore):
                rs.ignored_files.append(str(p))
                continue
            rs.files.append(parse_file(p))
        elif name == "classification.config" or name.endswith("classification.config"):
            text = read_text(p)
            rs.config_files.append((name, hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()))
            cls, errs = parse_classification(text, str(p))
            rs.classifications.update(cls)
            rs.config_errors.extend(errs)
        elif "threshold" in name and name.endswith(".config"):
            text = read_text(p)
            rs.config_files.append((name, hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()))
            th, errs = parse_threshold_config(text, str(p))
            rs.thresholds.extend(th)
            rs.config_errors.extend(errs)
        else:
            rs.other_files.append(str(p))
    return rs


def build_rule_map(rules: Iterable[Rule]) -> tuple[dict[tuple[int, int], Rule], list[tuple[Rule, Rule]]]:
    """(gid, sid) → rule; duplicates resolved as suricata-update does (higher rev wins, else first seen).

    Returns the map and the list of (winner, loser) pairs.
    """
    rulemap: dict[tuple[int, int], Rule] = {}
    dups: list[tuple[Rule, Rule]] = []
    for rule in rules:
        cur = rulemap.get(rule.id)
        if cur is None:
            rulemap[rule.id] = rule
        elif (rule.rev or 0) > (cur.rev or 0):
            rulemap[rule.id] = rule
            dups.append((rule, cur))
        else:
            dups.append((cur, rule))
    return rulemap, dups
