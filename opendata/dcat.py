"""DCAT-AP 3.0.1 export and harvest (import of a DCAT-AP catalog file into drafts).

Export follows ckanext-dcat's endpoints (``/catalog.{ttl,jsonld,rdf}`` with ``page`` paging, 100
datasets per page, and ``/dataset/<id>.{ttl,jsonld,rdf}``). Nodes that DCAT-AP ranges require to be
typed (``foaf:Agent``, ``dct:Frequency``, ``skos:Concept``, ``dct:LicenseDocument``, ...) carry their
``rdf:type``, so the output conforms to the official ``shapes.ttl`` + ``shapes_recommended.ttl``
without whitelisting (the tests validate it with pyshacl).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import quote

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD
from sqlmodel import select

from kernel.db import Session
from kernel.errors import ValidationFailed
from kernel.principal import Principal
from opendata.catalog import distributions_of, vocab
from opendata.models import Dataset, Distribution

__all__ = [
    "FORMATS",
    "catalog_graph",
    "dataset_graph",
    "dataset_triples",
    "harvest",
    "serialize",
    "write_catalog_turtle",
    "write_dataset_turtle",
]

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
SPDX = Namespace("http://spdx.org/rdf/terms#")
AVAILABILITY_STABLE = URIRef("http://data.europa.eu/r5r/availability/stable")
REGIONAL = URIRef("http://purl.org/adms/publishertype/RegionalAuthority")
ATTRIBUTION = URIRef("http://purl.org/adms/licencetype/Attribution")
EU_THEME = "http://publications.europa.eu/resource/authority/data-theme/"
EU_FREQ = "http://publications.europa.eu/resource/authority/frequency/"
EU_FILE = "http://publications.europa.eu/resource/authority/file-type/"
THEME_SCHEME = URIRef("http://publications.europa.eu/resource/authority/data-theme")
FREQ_CODES = {"DAILY": "DAILY", "WEEKLY": "WEEKLY", "MONTHLY": "MONTHLY", "QUARTERLY": "QUARTERLY",
              "ANNUAL": "ANNUAL", "IRREG": "IRREG", "UNKNOWN": "UNKNOWN"}
#: serialisation name -> (rdflib format, media type)
FORMATS = {"ttl": ("turtle", "text/turtle"), "jsonld": ("json-ld", "application/ld+json"),
           "rdf": ("xml", "application/rdf+xml")}


def _bind(g: Graph) -> Graph:
    for p, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("skos", SKOS), ("adms", ADMS),
                  ("dcatap", DCATAP), ("spdx", SPDX)):
        g.bind(p, ns)
    return g


Triple = tuple  # (URIRef, URIRef, URIRef | Literal)


def _concept(uri: URIRef, label: str, scheme: URIRef | None = None) -> list[Triple]:
    out = [(uri, RDF.type, SKOS.Concept), (uri, SKOS.prefLabel, Literal(label, lang="en"))]
    if scheme is not None:
        out.append((uri, SKOS.inScheme, scheme))
    return out


def _theme_scheme() -> list[Triple]:
    return [(THEME_SCHEME, RDF.type, SKOS.ConceptScheme), (THEME_SCHEME, DCTERMS.title, Literal("Data theme", lang="en"))]


def _iri(text: str) -> str:
    """Percent-encode what an IRI may not hold (spaces, quotes, angle brackets, ... in file names)."""
    return quote(text, safe="/:#?&=+$,;@!*'()~%[]-._")


def dataset_triples(ds: Dataset, dists: Iterable[Distribution], base: str) -> list[Triple]:
    """The DCAT-AP description of one dataset and its distributions (referenced nodes typed and
    labelled; no blank nodes)."""
    from opendata.ckan import THEME_TITLES

    d = URIRef(f"{base}/dataset/{_iri(ds.name)}")
    t: list[Triple] = [
        (d, RDF.type, DCAT.Dataset), (d, DCTERMS.identifier, Literal(ds.id)),
        (d, DCTERMS.title, Literal(ds.title_zh, lang="zh")), (d, DCTERMS.title, Literal(ds.title_en, lang="en")),
        (d, DCTERMS.description, Literal(ds.description_zh, lang="zh")),
        (d, DCTERMS.description, Literal(ds.description_en, lang="en"))]
    for k in ds.keywords:
        t.append((d, DCAT.keyword, Literal(k, lang="zh" if any("\u4e00" <= c <= "\u9fff" for c in k) else "en")))
    theme = URIRef(EU_THEME + ds.theme)
    t.append((d, DCAT.theme, theme))
    t += _concept(theme, THEME_TITLES.get(ds.theme, ds.theme), THEME_SCHEME) + _theme_scheme()
    freq = URIRef(EU_FREQ + FREQ_CODES.get(ds.frequency, "UNKNOWN"))
    t += [(d, DCTERMS.accrualPeriodicity, freq), (freq, RDF.type, DCTERMS.Frequency)]
    pub = URIRef(f"{base}/organization/{_iri(ds.org_id)}")
    t += [(d, DCTERMS.publisher, pub), (pub, RDF.type, FOAF.Agent), (pub, FOAF.name, Literal(ds.organisation)),
          (pub, DCTERMS.type, REGIONAL)] + _concept(REGIONAL, "Regional authority")
    cp = URIRef(f"{d}#contact")  # named, not blank: rdflib's Turtle writer is quadratic in blank nodes
    t += [(d, DCAT.contactPoint, cp), (cp, RDF.type, VCARD.Kind), (cp, VCARD.fn, Literal(ds.organisation)),
          (cp, VCARD.hasEmail, URIRef(f"mailto:{_iri(ds.contact_email)}"))]
    if ds.temporal_start or ds.temporal_end:
        pot = URIRef(f"{d}#temporal")
        t += [(d, DCTERMS.temporal, pot), (pot, RDF.type, DCTERMS.PeriodOfTime)]
        if ds.temporal_start:
            t.append((pot, DCAT.startDate, Literal(ds.temporal_start, datatype=XSD.date)))
        if ds.temporal_end:
            t.append((pot, DCAT.endDate, Literal(ds.temporal_end, datatype=XSD.date)))
    if ds.spatial:
        # a gazetteer URI (GeoNames, ...): left untyped, its geometry lives with the gazetteer
        loc = URIRef(_iri(ds.spatial)) if ds.spatial.startswith("http") else URIRef(f"{base}/location/{_iri(ds.spatial)}")
        t.append((d, DCTERMS.spatial, loc))
    if ds.conforms_to:
        std = URIRef(_iri(ds.conforms_to))
        t += [(d, DCTERMS.conformsTo, std), (std, RDF.type, DCTERMS.Standard)]
    t.append((d, DCTERMS.modified, Literal(ds.updated_at.date().isoformat(), datatype=XSD.date)))
    if ds.published_at:
        t.append((d, DCTERMS.issued, Literal(ds.published_at.date().isoformat(), datatype=XSD.date)))
    lic_uri = vocab()["licences"].get(ds.licence)
    for dist in dists:
        r = URIRef(f"{d}/resource/{dist.id}")
        url = URIRef(f"{base}/opendata/download/{dist.id}/{_iri(dist.filename)}")
        ft = URIRef(EU_FILE + dist.format)
        mt = URIRef(f"https://www.iana.org/assignments/media-types/{dist.media_type}")
        spdx = URIRef(f"{r}#checksum")
        t += [(d, DCAT.distribution, r), (r, RDF.type, DCAT.Distribution), (r, DCAT.accessURL, url),
              (r, DCAT.downloadURL, url), (r, DCTERMS.title, Literal(dist.title)),
              (r, DCTERMS.description, Literal(f"{dist.format}, {dist.byte_size} bytes, sha256 {dist.sha256}")),
              (r, DCTERMS["format"], ft), (ft, RDF.type, DCTERMS.MediaTypeOrExtent),
              (r, DCAT.mediaType, mt), (mt, RDF.type, DCTERMS.MediaType),
              (r, DCAT.byteSize, Literal(dist.byte_size, datatype=XSD.nonNegativeInteger))]
        if lic_uri:
            lic = URIRef(lic_uri)
            t += [(r, DCTERMS.license, lic), (lic, RDF.type, DCTERMS.LicenseDocument), (lic, DCTERMS.type, ATTRIBUTION)]
            t += _concept(ATTRIBUTION, "Attribution")
        t += [(r, DCATAP.availability, AVAILABILITY_STABLE)] + _concept(AVAILABILITY_STABLE, "Stable")
        t += [(r, SPDX.checksum, spdx), (spdx, RDF.type, SPDX.Checksum),
              (spdx, SPDX.algorithm, SPDX.checksumAlgorithm_sha256),
              (spdx, SPDX.checksumValue, Literal(dist.sha256, datatype=XSD.hexBinary))]
    return t


def catalog_triples(base: str, modified: str) -> list[Triple]:
    cat = URIRef(f"{base}/catalog")
    pub = URIRef(f"{base}/organization/commission")
    zho = URIRef("http://publications.europa.eu/resource/authority/language/ZHO")
    lic = URIRef(vocab()["licences"]["CC-BY-4.0"])
    home = URIRef(f"{base}/opendata")
    return [
        (cat, RDF.type, DCAT.Catalog),
        (cat, DCTERMS.title, Literal("城市公共数据开放目录", lang="zh")), (cat, DCTERMS.title, Literal("City open data catalog", lang="en")),
        (cat, DCTERMS.description, Literal("经发布闸门审核、审计可验证的公共数据", lang="zh")),
        (cat, DCTERMS.description, Literal("Public data released through an audited gate", lang="en")),
        (cat, DCTERMS.publisher, pub), (pub, RDF.type, FOAF.Agent),
        (pub, FOAF.name, Literal("City informatization commission", lang="en")), (pub, DCTERMS.type, REGIONAL),
        *_concept(REGIONAL, "Regional authority"),
        (cat, DCTERMS.language, zho), (zho, RDF.type, DCTERMS.LinguisticSystem),
        (cat, DCTERMS.license, lic), (lic, RDF.type, DCTERMS.LicenseDocument), (lic, DCTERMS.type, ATTRIBUTION),
        *_concept(ATTRIBUTION, "Attribution"),
        (cat, DCTERMS.spatial, URIRef("http://sws.geonames.org/1795565/")),
        (cat, DCTERMS.issued, Literal("2026-01-01", datatype=XSD.date)),
        (cat, DCTERMS.modified, Literal(modified, datatype=XSD.date)),
        (cat, FOAF.homepage, home), (home, RDF.type, FOAF.Document),
        (cat, DCAT.themeTaxonomy, THEME_SCHEME), *_theme_scheme()]


def _modified(datasets: list[Dataset]) -> str:
    return max(d.updated_at for d in datasets).date().isoformat() if datasets else "2026-01-01"


def _dists_by_dataset(session: Session, datasets: list[Dataset]) -> dict[str, list[Distribution]]:
    """Distributions of these datasets, in one query per 500 datasets (ordered as distributions_of)."""
    out: dict[str, list[Distribution]] = {}
    ids = [d.id for d in datasets]
    for i in range(0, len(ids), 500):
        q = select(Distribution).where(Distribution.dataset_id.in_(ids[i : i + 500])).order_by(Distribution.created_at, Distribution.id)
        for x in session.exec(q):
            out.setdefault(x.dataset_id, []).append(x)
    return out


def dataset_graph(session: Session, ds: Dataset, base: str) -> Graph:
    g = _bind(Graph())
    for tr in dataset_triples(ds, distributions_of(session, ds), base):
        g.add(tr)
    return g


def catalog_graph(session: Session, datasets: Iterable[Dataset], base: str) -> Graph:
    datasets = list(datasets)
    g = _bind(Graph())
    cat = URIRef(f"{base}/catalog")
    for tr in catalog_triples(base, _modified(datasets)):
        g.add(tr)
    dists = _dists_by_dataset(session, datasets)
    for ds in datasets:
        for tr in dataset_triples(ds, dists.get(ds.id, []), base):
            g.add(tr)
        g.add((cat, DCAT.dataset, URIRef(f"{base}/dataset/{_iri(ds.name)}")))
    return g


# -- streaming Turtle -------------------------------------------------------------------------------------
_PREFIXES = {"dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "vcard": str(VCARD), "skos": str(SKOS),
             "adms": str(ADMS), "dcatap": str(DCATAP), "spdx": str(SPDX), "rdf": str(RDF), "xsd": str(XSD)}


_NS_STARTS = tuple(_PREFIXES.values())
_LOCAL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@functools.lru_cache(maxsize=1024)
def _qname(p: URIRef) -> str:
    for prefix, ns in _PREFIXES.items():
        if p.startswith(ns) and _LOCAL.fullmatch(p[len(ns):]):
            return f"{prefix}:{p[len(ns):]}"
    return p.n3()


def _pred(p: URIRef) -> str:
    return "a" if p == RDF.type else _qname(p)


def _term(o) -> str:
    if isinstance(o, URIRef):
        return _qname(o) if o.startswith(_NS_STARTS) else o.n3()
    if o.datatype is not None:
        return '"' + _esc(str(o)) + '"^^' + _pred(o.datatype)
    return '"' + _esc(str(o)) + '"' + (f"@{o.language}" if o.language else "")


_ESC = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_NEEDS_ESC = re.compile(r'[\\"\x00-\x1f\x7f]')


def _esc(text: str) -> str:
    if not _NEEDS_ESC.search(text):
        return text
    return _NEEDS_ESC.sub(lambda m: _ESC.get(m.group(0), f"\\u{ord(m.group(0)):04X}"), text)


def _write_block(out: TextIO, triples: list[Triple], seen_shared: set, local: str) -> None:
    """Write triples grouped by subject; triples about nodes outside this dataset (themes, licences,
    publishers, ...) are written once per document."""
    by_subject: dict[URIRef, list[Triple]] = {}
    for tr in triples:
        if not str(tr[0]).startswith(local):
            if tr in seen_shared:
                continue
            seen_shared.add(tr)
        by_subject.setdefault(tr[0], []).append(tr)
    parts = []
    for subj, trs in by_subject.items():
        parts.append(subj.n3() + " " + " ;\n    ".join(f"{_pred(p)} {_term(o)}" for _s, p, o in trs) + " .\n")
    out.write("\n".join(parts) + "\n")


def write_catalog_turtle(session: Session, datasets: Iterable[Dataset], base: str, out: TextIO, *, chunk: int = 500) -> int:
    """Stream the catalog as Turtle (same triples as :func:`catalog_graph`) without building a graph:
    datasets are described one at a time, distributions fetched per chunk. Returns the number of
    datasets written."""
    datasets = list(datasets)
    out.write("".join(f"@prefix {p}: <{ns}> .\n" for p, ns in _PREFIXES.items()) + "\n")
    seen: set = set()
    cat = URIRef(f"{base}/catalog")
    _write_block(out, catalog_triples(base, _modified(datasets)), seen, str(cat) + "#")
    if datasets:
        out.write(cat.n3() + " dcat:dataset " + " ,\n    ".join(URIRef(f"{base}/dataset/{_iri(d.name)}").n3() for d in datasets) + " .\n\n")
    for i in range(0, len(datasets), chunk):
        part = datasets[i : i + chunk]
        dists = _dists_by_dataset(session, part)
        for ds in part:
            local = f"{base}/dataset/{_iri(ds.name)}"
            _write_block(out, dataset_triples(ds, dists.get(ds.id, []), base), seen, local)
    return len(datasets)


def write_dataset_turtle(session: Session, ds: Dataset, base: str, out: TextIO) -> None:
    out.write("".join(f"@prefix {p}: <{ns}> .\n" for p, ns in _PREFIXES.items()) + "\n")
    _write_block(out, dataset_triples(ds, distributions_of(session, ds), base), set(), f"{base}/dataset/{_iri(ds.name)}")


def serialize(g: Graph, fmt: str) -> bytes:
    name, _mt = FORMATS[fmt]
    out = g.serialize(format=name)
    return out.encode("utf-8") if isinstance(out, str) else out


# -- harvest ---------------------------------------------------------------------------------------------
def _text(g: Graph, node, pred, lang: str) -> str | None:
    best = None
    for o in g.objects(node, pred):
        if isinstance(o, Literal):
            if o.language == lang:
                return str(o)
            if best is None or o.language in (None, "en"):
                best = str(o)
    return best


def harvest(session: Session, principal: Principal, data: bytes, *, fmt: str = "ttl", licence: str = "CC-BY-4.0",
            contact_email: str | None = None) -> list[Dataset]:
    """Import the datasets of a DCAT-AP file as drafts of the principal's department. The whole file is
    validated first; nothing is created if any dataset is unusable (errors name the dataset node)."""
    import re

    from opendata.catalog import dataset_create

    g = Graph()
    try:
        g.parse(data=data, format=FORMATS[fmt][0])
    except Exception as exc:  # rdflib raises many parser-specific types
        raise ValidationFailed(f"not a valid {fmt} DCAT file: {str(exc)[:300]}", errors=[{"pointer": "/file", "message": str(exc)[:300]}]) from None
    v = vocab()
    metas, errors = [], []
    nodes = sorted(set(g.subjects(RDF.type, DCAT.Dataset)), key=str)
    if not nodes:
        raise ValidationFailed("the file holds no dcat:Dataset", errors=[{"pointer": "/file", "message": "no dcat:Dataset"}])
    for n in nodes:
        title_en = _text(g, n, DCTERMS.title, "en")
        title_zh = _text(g, n, DCTERMS.title, "zh") or title_en
        desc_en = _text(g, n, DCTERMS.description, "en") or title_en
        desc_zh = _text(g, n, DCTERMS.description, "zh") or desc_en
        themes = [str(t).rsplit("/", 1)[-1] for t in g.objects(n, DCAT.theme)]
        theme = next((t for t in themes if t in v["themes"]), None)
        freq = next((str(f).rsplit("/", 1)[-1] for f in g.objects(n, DCTERMS.accrualPeriodicity)), "UNKNOWN")
        email = contact_email
        for cp in g.objects(n, DCAT.contactPoint):
            for e in g.objects(cp, VCARD.hasEmail):
                email = str(e).removeprefix("mailto:")
        ident = str(next(iter(g.objects(n, DCTERMS.identifier)), "") or str(n).rstrip("/").rsplit("/", 1)[-1])
        name = re.sub(r"[^a-z0-9_-]+", "-", ident.lower()).strip("-")[:90] or "dataset"
        problems = []
        if not title_en and not title_zh:
            problems.append("no dct:title")
        if themes and theme is None:
            problems.append(f"unknown theme code(s) {', '.join(themes)}")
        if not email:
            problems.append("no contact e-mail (dcat:contactPoint/vcard:hasEmail) and none given")
        if problems:
            errors += [{"pointer": str(n), "message": p} for p in problems]
            continue
        metas.append({"name": name, "title_zh": title_zh, "title_en": title_en or title_zh, "description_zh": desc_zh or title_zh,
                      "description_en": desc_en or title_en or title_zh, "theme": theme or "GOVE",
                      "keywords": sorted({str(k) for k in g.objects(n, DCAT.keyword)}), "licence": licence,
                      "frequency": freq if freq in v["frequencies"] else "UNKNOWN", "contact_email": email})
    seen: set[str] = set()
    for m in metas:
        if m["name"] in seen or session.exec(select(Dataset).where(Dataset.name == m["name"])).first() is not None:
            errors.append({"pointer": m["name"], "message": "a dataset with this name exists (already harvested?)"})
        seen.add(m["name"])
    if errors:
        raise ValidationFailed("the DCAT file cannot be harvested", errors=errors)
    out = []
    for m in metas:
        try:
            out.append(dataset_create(session, principal, m))
        except ValidationFailed as exc:
            session.rollback()
            raise ValidationFailed(f"dataset {m['name']!r}: {exc.detail}", errors=exc.errors) from None
    return out
