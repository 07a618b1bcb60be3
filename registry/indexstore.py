"""One similarity index for every process: the library's change counter plus a persisted, memory-mapped index.

Freshness is O(1). ``registry_library`` holds one row: the library's ``uid`` and a change counter ``seq``.
Every change that can alter duplicate ranking (create, update, submit, import, any lifecycle transition)
bumps the counter in its own transaction — ``UPDATE … SET seq = seq + n`` takes the row lock, so writers
commit in counter order — and stamps the changed rows with their new ``seq``. A process asks one integer
("is the counter still what my index has seen?") and, when it moved, reads only the rows with a higher
``seq`` (an indexed range scan) and applies them incrementally. Every process therefore agrees with the
database — and with every other process — after each change, whichever process made it.

Persistence. When a directory is configured (the portal uses ``<instance>/registry-index``), a process that
built the index, or caught up with many changes, writes a snapshot: a new folder ``snap-<uid>-<seq>`` of
plain ``.npy`` arrays (CSR and CSC matrices, document frequencies, liveness), the ids and the structured
features, then atomically repoints ``CURRENT`` to it. A cold process (``citygov projects similar``, a new
web server worker) memory-maps the current snapshot — the operating system shares the pages between
processes — and reads only the rows changed after it. A snapshot of another database (other ``uid``), of
a rewound one (``seq`` above the counter) or made with another zh↔en glossary (its data's digest: the vectors
depend on it) is ignored and rebuilt. The snapshot also carries the glossary pairs derived from that data, so
a cold process does not parse and validate the glossary again.

Within a transaction that has itself bumped the counter, the process index is advanced only to the last
committed value, so a change that is later rolled back never reaches the shared index.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import select

from registry import lifecycle
from registry.models import Library, Project

if TYPE_CHECKING:
    from registry import similarity as sim

# The change counter (bump / touch / head) is what every write uses; the index itself needs numpy, scipy and
# registry.similarity, imported inside the functions that build, load or save it, so commands that never rank
# (list, show, submit …) start without them.

FORMAT = 1
#: a process that caught up with at least this many changes since the snapshot writes a new one
SNAPSHOT_AFTER = 2000
_FS = "\x1f"
_LOCK = threading.RLock()
_STORES: dict[str, Path] = {}


@dataclass
class LiveIndex:
    index: sim.SimilarityIndex
    uid: str
    seq: int
    snapshot_seq: int
    source: str  # "snapshot", "built" or "empty"


_LIVE: dict[str, LiveIndex] = {}


# ------------------------------------------------------------------------------------ configuration


def engine_key(session_or_engine) -> str:
    bind = session_or_engine.get_bind() if hasattr(session_or_engine, "get_bind") else session_or_engine
    engine = getattr(bind, "engine", bind)
    return engine.url.render_as_string(hide_password=True)


def configure(engine, directory: str | os.PathLike | None) -> None:
    """Persist the index of the database behind ``engine`` under ``directory`` (None: memory only)."""
    key = engine_key(engine)
    with _LOCK:
        if directory is None:
            _STORES.pop(key, None)
        else:
            _STORES[key] = Path(directory)
        _LIVE.pop(key, None)


def forget_all() -> None:
    """Drop every in-process index and store setting (tests, whose rollbacks rewind committed history — which
    never happens to a production database; after restoring a backup, delete ``<instance>/registry-index``)."""
    with _LOCK:
        _LIVE.clear()
        _STORES.clear()


# ----------------------------------------------------------------------------------- change counter


def _library_row(session) -> tuple[str, int]:
    row = session.exec(select(Library.uid, Library.seq).where(Library.id == 1)).first()
    if row is None:  # a database migrated before the row existed
        session.add(Library(id=1))
        session.flush()
        row = session.exec(select(Library.uid, Library.seq).where(Library.id == 1)).first()
    return row[0], int(row[1])


def bump(session, n: int = 1) -> int:
    """Advance the counter by ``n`` in the caller's transaction; returns the first of the ``n`` new values."""
    _library_row(session)
    table = Library.__table__
    new = session.execute(sa.update(table).where(table.c.id == 1).values(seq=table.c.seq + n)
                          .returning(table.c.seq)).scalar_one()
    first = int(new) - n + 1
    tx = session.get_transaction()
    dirty = session.info.get("registry_dirty")
    if dirty is None or dirty[0] is not tx:
        session.info["registry_dirty"] = (tx, first)
    return first


def touch(session, project: Project) -> None:
    """Stamp a changed project with a new counter value."""
    project.seq = bump(session)
    session.add(project)


def head(session) -> tuple[str, int]:
    """The library's uid and the counter value this session may index (O(1))."""
    uid, seq = _library_row(session)
    dirty = session.info.get("registry_dirty")
    if dirty is not None and dirty[0] is session.get_transaction() and dirty[0] is not None:
        seq = min(seq, dirty[1] - 1)  # our own uncommitted changes stay out of the shared index
    return uid, seq


# --------------------------------------------------------------------------------------- the index


def document(project) -> tuple[str, frozenset[str]]:
    from registry import proposal
    from registry import similarity as sim

    return proposal.search_text(project.data), sim.features_of(project.data, project.org_id, project.district)


def library_index(session) -> sim.SimilarityIndex:
    """The process's index of the library (every non-draft project), fresh as of the last committed change."""
    return live_index(session).index


def live_index(session) -> LiveIndex:
    key = engine_key(session)
    uid, seq = head(session)
    with _LOCK:
        live = _LIVE.get(key)
        if live is not None and (live.uid != uid or live.seq > seq):
            live = None  # another database behind the same URL, or a rewound one
        if live is None:
            live = _load(key, uid, seq)
            if live is None:
                live = _build(session, uid, seq)
                _LIVE[key] = live
                if len(live.index):
                    _save(key, live)
            _LIVE[key] = live
        if live.seq < seq:
            _catch_up(session, live, seq)
            if live.seq - live.snapshot_seq >= SNAPSHOT_AFTER:
                _save(key, live)
        return live


def _build(session, uid: str, seq: int) -> LiveIndex:
    from registry import similarity as sim

    rows = session.execute(select(Project.id, Project.data, Project.org_id, Project.district)
                           .where(Project.state.in_(lifecycle.IN_LIBRARY), Project.seq <= seq)  # type: ignore[attr-defined]
                           .order_by(Project.seq, Project.id)
                           .execution_options(yield_per=2000))
    index = sim.SimilarityIndex(merge_every=512)

    def docs():
        from registry import proposal

        for pid, data, org_id, district in rows:
            yield pid, proposal.search_text(data), sim.features_of(data, org_id, district)

    index.build(docs())
    return LiveIndex(index, uid, seq, snapshot_seq=0, source="built")


def _catch_up(session, live: LiveIndex, seq: int) -> None:
    from registry import similarity as sim

    rows = session.execute(select(Project.id, Project.state, Project.data, Project.org_id, Project.district)
                           .where(Project.seq > live.seq, Project.seq <= seq)
                           .order_by(Project.seq).execution_options(yield_per=2000))
    from registry import proposal

    for pid, state, data, org_id, district in rows:
        if state in lifecycle.IN_LIBRARY:
            live.index.add(pid, proposal.search_text(data), sim.features_of(data, org_id, district))
        else:
            live.index.remove(pid)
    live.seq = seq


def refresh(session) -> LiveIndex:
    """Catch up now and write a snapshot if a store is configured (after a large import)."""
    live = live_index(session)
    key = engine_key(session)
    with _LOCK:
        if live.seq != live.snapshot_seq:
            _save(key, live)
    return live


# ------------------------------------------------------------------------------------- snapshots


class _LazyFeatures:
    """Structured features parsed on first access (a cold process touches only the candidates it ranks)."""

    def __init__(self, lines: list[str]):
        self._lines = lines
        self._parsed: dict[int, frozenset[str]] = {}
        self._extra: list[frozenset[str]] = []

    def __len__(self) -> int:
        return len(self._lines) + len(self._extra)

    def __getitem__(self, i: int) -> frozenset[str]:
        n = len(self._lines)
        if i >= n:
            return self._extra[i - n]
        got = self._parsed.get(i)
        if got is None:
            line = self._lines[i]
            got = self._parsed[i] = frozenset(line.split(_FS)) if line else frozenset()
        return got

    def append(self, feats: frozenset[str]) -> None:
        self._extra.append(feats)

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def _dir(key: str) -> Path | None:
    return _STORES.get(key)


def _save(key: str, live: LiveIndex) -> None:
    import numpy as np

    from registry import similarity as sim

    root = _dir(key)
    if root is None:
        return
    idx = live.index
    with idx._lock:
        if idx.pending:
            idx._merge()
        root.mkdir(parents=True, exist_ok=True)
        name = f"snap-{live.uid}-{live.seq}-{os.getpid()}-{time.monotonic_ns()}"
        tmp = root / (".tmp-" + name)
        tmp.mkdir()
        arrays = {"csr_data": idx.csr.data, "csr_indices": idx.csr.indices, "csr_indptr": idx.csr.indptr,
                  "csc_data": idx.csc.data, "csc_indices": idx.csc.indices, "csc_indptr": idx.csc.indptr,
                  "df": idx.df, "alive": idx.alive}
        for n, a in arrays.items():
            np.save(tmp / f"{n}.npy", np.ascontiguousarray(a), allow_pickle=False)
        (tmp / "ids.txt").write_text("\n".join(idx.ids), encoding="utf-8")
        (tmp / "features.txt").write_text("\n".join(_FS.join(sorted(f)) for f in idx.features), encoding="utf-8")
        meta = {"format": FORMAT, "uid": live.uid, "seq": live.seq, "rows": len(idx.ids), "live": idx.live,
                "n_features": sim.N_FEATURES, "glossary": sim.glossary_digest()}
        (tmp / "glossary.json").write_text(json.dumps(sim.glossary_pairs(), ensure_ascii=False), encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, root / name)
        pointer = root / f".CURRENT-{os.getpid()}"
        pointer.write_text(name, encoding="utf-8")
        os.replace(pointer, root / "CURRENT")
    live.snapshot_seq = live.seq
    for old in root.glob("snap-*"):  # older snapshots (open maps stay valid after unlink)
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def _load(key: str, uid: str, seq: int) -> LiveIndex | None:
    import numpy as np

    from registry import similarity as sim

    root = _dir(key)
    if root is None:
        return None
    try:
        name = (root / "CURRENT").read_text(encoding="utf-8").strip()
        snap = root / name
        meta = json.loads((snap / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or meta.get("uid") != uid or int(meta["seq"]) > seq \
                or meta.get("n_features") != sim.N_FEATURES or meta.get("glossary") != sim.glossary_digest():
            return None  # another library, a rewound one, or vectors made with another glossary: rebuild
        sim.adopt_glossary_pairs(meta["glossary"], json.loads((snap / "glossary.json").read_text(encoding="utf-8")))
        a = {n: np.load(snap / f"{n}.npy", mmap_mode="r", allow_pickle=False)
             for n in ("csr_data", "csr_indices", "csr_indptr", "csc_data", "csc_indices", "csc_indptr", "df", "alive")}
        ids = (snap / "ids.txt").read_text(encoding="utf-8")
        feats = (snap / "features.txt").read_text(encoding="utf-8")
    except (OSError, ValueError, KeyError):
        return None
    ids_list = ids.split("\n") if ids else []
    n = len(ids_list)
    idx = sim.SimilarityIndex(merge_every=512)
    idx.ids = ids_list
    idx.pos = {d: i for i, d in enumerate(ids_list)}
    idx.alive = np.array(a["alive"], dtype=bool)
    for i in np.flatnonzero(~idx.alive):
        idx.pos.pop(ids_list[i], None)
    idx.features = _LazyFeatures(feats.split("\n") if feats else [])  # type: ignore[assignment]
    idx.df = np.array(a["df"], dtype=np.int32)
    idx.live = int(idx.alive.sum())
    shape = (n, sim.N_FEATURES)
    # plain arrays over the maps: a query needs no scipy (merging later converts, see similarity._scipy_csr)
    idx.csr = sim.Compressed(a["csr_data"], a["csr_indices"], a["csr_indptr"], shape)
    idx.csc = sim.Compressed(a["csc_data"], a["csc_indices"], a["csc_indptr"], shape)
    idx.pending_start = n
    return LiveIndex(idx, uid, int(meta["seq"]), snapshot_seq=int(meta["seq"]), source="snapshot")


def status(session) -> dict[str, Any]:
    live = live_index(session)
    key = engine_key(session)
    return {"documents": len(live.index), "seq": live.seq, "snapshot_seq": live.snapshot_seq, "source": live.source,
            "persisted_in": str(_dir(key)) if _dir(key) else None}
