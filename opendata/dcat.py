"""DCAT-AP 3.0.1 export and harvest (import of a DCAT-AP catalog file into drafts).

Export follows ckanext-dcat's endpoints (``/catalog.{ttl,jsonld,rdf}`` with ``page`` paging, 100
datasets per page, and ``/dataset/<id>.{ttl,jsonld,rdf}``). Nodes that DCAT-AP ranges require to be
typed (``foaf:Agent``, ``dct:Frequency``, ``skos:Concept``, ``dct:LicenseDocument``, ...) carry their
``rdf:type``, so the output conforms to the official ``shapes.ttl`` + ``shapes_recommended.ttl``
without whitelisting (the tests validate it with pyshacl).
"""

from __future__ import annotations

from typing import Iterable

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from kernel.db import Session
from kernel.errors import ValidationFailed
from kernel.principal import Principal
from opendata.catalog import distributions_of, vocab
from opendata.models import Dataset

__all__ = ["catalog_graph", "dataset_graph", "serialize", "harvest", "FORMATS"]

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
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
                  ("dcatap", DCATAP)):
        g.bind(p, ns)
    return g


def _concept(g: Graph, uri: URIRef, label: str, scheme: URIRef | None = None) -> URIRef:
    g.add((uri, RDF.type, SKOS.Concept))
    g.add((uri, SKOS.prefLabel, Literal(label, lang="en")))
    if scheme is not None:
        g.add((uri, SKOS.inScheme, scheme))
    return uri


def _theme_scheme(g: Graph) -> None:
    g.add((THEME_SCHEME, RDF.type, SKOS.ConceptScheme))
    g.add((THEME_SCHEME, DCTERMS.title, Literal("Data theme", lang="en")))


def _add_dataset(g: Graph, session: Session, ds: Dataset, base: str) -> URIRef:
    d = URIRef(f"{base}/dataset/{ds.name}")
    g.add((d, RDF.type, DCAT.Dataset))
    g.add((d, DCTERMS.identifier, Literal(ds.id)))
    g.add((d, DCTERMS.title, Literal(ds.title_zh, lang="zh")))
    g.add((d, DCTERMS.title, Literal(ds.title_en, lang="en")))
    g.add((d, DCTERMS.description, Literal(ds.description_zh, lang="zh")))
    g.add((d, DCTERMS.description, Literal(ds.description_en, lang="en")))
    for k in ds.keywords:
        g.add((d, DCAT.keyword, Literal(k, lang="zh" if any("\u4e00" <= c <= "\u9fff" for c in k) else "en")))
    theme = URIRef(EU_THEME + ds.theme)
    g.add((d, DCAT.theme, theme))
    from opendata.ckan import THEME_TITLES

    _concept(g, theme, THEME_TITLES.get(ds.theme, ds.theme), THEME_SCHEME)
    _theme_scheme(g)
    freq = URIRef(EU_FREQ + FREQ_CODES.get(ds.frequency, "UNKNOWN"))
    g.add((d, DCTERMS.accrualPeriodicity, freq))
    g.add((freq, RDF.type, DCTERMS.Frequency))
    pub = URIRef(f"{base}/organization/{ds.org_id}")
    g.add((d, DCTERMS.publisher, pub))
    g.add((pub, RDF.type, FOAF.Agent))
    g.add((pub, FOAF.name, Literal(ds.organisation)))
    g.add((pub, DCTERMS.type, _concept(g, REGIONAL, "Regional authority")))
    cp = URIRef(f"{d}#contact")  # named, not blank: rdflib's Turtle writer is quadratic in blank nodes
    g.add((d, DCAT.contactPoint, cp))
    g.add((cp, RDF.type, VCARD.Kind))
    g.add((cp, VCARD.fn, Literal(ds.organisation)))
    g.add((cp, VCARD.hasEmail, URIRef(f"mailto:{ds.contact_email}")))
    if ds.temporal_start or ds.temporal_end:
        pot = URIRef(f"{d}#temporal")
        g.add((d, DCTERMS.temporal, pot))
        g.add((pot, RDF.type, DCTERMS.PeriodOfTime))
        if ds.temporal_start:
            g.add((pot, DCAT.startDate, Literal(ds.temporal_start, datatype=XSD.date)))
        if ds.temporal_end:
            g.add((pot, DCAT.endDate, Literal(ds.temporal_end, datatype=XSD.date)))
    if ds.spatial:
        # a gazetteer URI (GeoNames, ...): left untyped, its geometry lives with the gazetteer
        loc = URIRef(ds.spatial) if ds.spatial.startswith("http") else URIRef(f"{base}/location/{ds.spatial}")
        g.add((d, DCTERMS.spatial, loc))
    if ds.conforms_to:
        std = URIRef(ds.conforms_to)
        g.add((d, DCTERMS.conformsTo, std))
        g.add((std, RDF.type, DCTERMS.Standard))
    g.add((d, DCTERMS.modified, Literal(ds.updated_at.date().isoformat(), datatype=XSD.date)))
    if ds.published_at:
        g.add((d, DCTERMS.issued, Literal(ds.published_at.date().isoformat(), datatype=XSD.date)))
    lic_uri = vocab()["licences"].get(ds.licence)
    for dist in distributions_of(session, ds):
        r = URIRef(f"{base}/dataset/{ds.name}/resource/{dist.id}")
        g.add((d, DCAT.distribution, r))
        g.add((r, RDF.type, DCAT.Distribution))
        url = URIRef(f"{base}/opendata/download/{dist.id}/{dist.filename}")
        g.add((r, DCAT.accessURL, url))
        g.add((r, DCAT.downloadURL, url))
        g.add((r, DCTERMS.title, Literal(dist.title)))
        g.add((r, DCTERMS.description, Literal(f"{dist.format}, {dist.byte_size} bytes, sha256 {dist.sha256}")))
        ft = URIRef(EU_FILE + dist.format)
        g.add((r, DCTERMS["format"], ft))
        g.add((ft, RDF.type, DCTERMS.MediaTypeOrExtent))
        mt = URIRef(f"https://www.iana.org/assignments/media-types/{dist.media_type}")
        g.add((r, DCAT.mediaType, mt))
        g.add((mt, RDF.type, DCTERMS.MediaType))
        g.add((r, DCAT.byteSize, Literal(dist.byte_size, datatype=XSD.nonNegativeInteger)))
        if lic_uri:
            g.add((r, DCTERMS.license, URIRef(lic_uri)))
            g.add((URIRef(lic_uri), RDF.type, DCTERMS.LicenseDocument))
            g.add((URIRef(lic_uri), DCTERMS.type, _concept(g, ATTRIBUTION, "Attribution")))
        g.add((r, DCATAP.availability, _concept(g, AVAILABILITY_STABLE, "Stable")))
        spdx = URIRef(f"{r}#checksum")
        g.add((r, URIRef("http://spdx.org/rdf/terms#checksum"), spdx))
        g.add((spdx, RDF.type, URIRef("http://spdx.org/rdf/terms#Checksum")))
        g.add((spdx, URIRef("http://spdx.org/rdf/terms#algorithm"), URIRef("http://spdx.org/rdf/terms#checksumAlgorithm_sha256")))
        g.add((spdx, URIRef("http://spdx.org/rdf/terms#checksumValue"), Literal(dist.sha256, datatype=XSD.hexBinary)))
    return d


def dataset_graph(session: Session, ds: Dataset, base: str) -> Graph:
    g = _bind(Graph())
    _add_dataset(g, session, ds, base)
    return g


def catalog_graph(session: Session, datasets: Iterable[Dataset], base: str) -> Graph:
    datasets = list(datasets)
    g = _bind(Graph())
    cat = URIRef(f"{base}/catalog")
    g.add((cat, RDF.type, DCAT.Catalog))
    g.add((cat, DCTERMS.title, Literal("城市公共数据开放目录", lang="zh")))
    g.add((cat, DCTERMS.title, Literal("City open data catalog", lang="en")))
    g.add((cat, DCTERMS.description, Literal("经发布闸门审核、审计可验证的公共数据", lang="zh")))
    g.add((cat, DCTERMS.description, Literal("Public data released through an audited gate", lang="en")))
    pub = URIRef(f"{base}/organization/commission")
    g.add((cat, DCTERMS.publisher, pub))
    g.add((pub, RDF.type, FOAF.Agent))
    g.add((pub, FOAF.name, Literal("City informatization commission", lang="en")))
    g.add((pub, DCTERMS.type, _concept(g, REGIONAL, "Regional authority")))
    g.add((cat, DCTERMS.language, URIRef("http://publications.europa.eu/resource/authority/language/ZHO")))
    g.add((URIRef("http://publications.europa.eu/resource/authority/language/ZHO"), RDF.type, DCTERMS.LinguisticSystem))
    lic = URIRef(vocab()["licences"]["CC-BY-4.0"])
    g.add((cat, DCTERMS.license, lic))
    g.add((lic, RDF.type, DCTERMS.LicenseDocument))
    g.add((lic, DCTERMS.type, _concept(g, ATTRIBUTION, "Attribution")))
    g.add((cat, DCTERMS.spatial, URIRef("http://sws.geonames.org/1795565/")))
    g.add((cat, DCTERMS.issued, Literal("2026-01-01", datatype=XSD.date)))
    g.add((cat, DCTERMS.modified, Literal(max([d.updated_at for d in datasets], default=None).date().isoformat()
                                          if datasets else "2026-01-01", datatype=XSD.date)))
    g.add((cat, FOAF.homepage, URIRef(f"{base}/opendata")))
    g.add((URIRef(f"{base}/opendata"), RDF.type, FOAF.Document))
    g.add((cat, DCAT.themeTaxonomy, THEME_SCHEME))
    _theme_scheme(g)
    for ds in datasets:
        g.add((cat, DCAT.dataset, _add_dataset(g, session, ds, base)))
    return g


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
    from sqlmodel import select

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
