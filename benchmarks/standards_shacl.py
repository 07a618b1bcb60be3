"""SHACL validation time: citygov's SHACL service vs pyshacl alone, for 10k and 50k focus nodes.

Shapes: one NodeShape targeting ex:Person (subclass ex:Resident comes from the ontology, mixed in as
``ont_graph`` by both runs), three property shapes; ~5 % of the nodes violate one constraint. citygov adds
the ontology mixing, report-to-findings conversion, per-rule counts and example capping.

    python benchmarks/standards_shacl.py [n1 n2 ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyshacl import validate  # noqa: E402
from rdflib import RDF, Graph, Literal, Namespace  # noqa: E402
from rdflib.namespace import XSD  # noqa: E402

from standards.shacl_engine import validate_graph  # noqa: E402

EX = Namespace("https://city.example/ns#")
SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://city.example/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:PersonShape a sh:NodeShape ; sh:targetClass ex:Person ;
  sh:property [ sh:path ex:name ; sh:minCount 1 ; sh:maxCount 1 ; sh:datatype xsd:string ] ;
  sh:property [ sh:path ex:born ; sh:datatype xsd:integer ; sh:minInclusive 1900 ] ;
  sh:property [ sh:path ex:district ; sh:in ( "东城" "西城" "朝阳" "海淀" ) ] .
"""
ONTOLOGY = """
@prefix ex: <https://city.example/ns#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Resident rdfs:subClassOf ex:Person .
"""


def data(n: int) -> Graph:
    g = Graph()
    districts = ["东城", "西城", "朝阳", "海淀"]
    for i in range(n):
        s = EX[f"p{i}"]
        g.add((s, RDF.type, EX.Resident if i % 2 else EX.Person))
        g.add((s, EX.name, Literal(f"居民{i}")))
        g.add((s, EX.born, Literal(1800 if i % 20 == 0 else 1950 + i % 70, datatype=XSD.integer)))
        g.add((s, EX.district, Literal(districts[i % 4])))
    return g


def main() -> None:
    sizes = [int(x) for x in sys.argv[1:]] or [10_000, 50_000]
    shapes = Graph().parse(data=SHAPES, format="turtle")
    ont = Graph().parse(data=ONTOLOGY, format="turtle")
    for n in sizes:
        g = data(n)
        t = time.perf_counter()
        conforms, report, _ = validate(g, shacl_graph=shapes, ont_graph=ont, inference="none")
        t_bare = time.perf_counter() - t
        bare_results = len(list(report.subjects(RDF.type, Namespace("http://www.w3.org/ns/shacl#").ValidationResult)))
        t = time.perf_counter()
        rep = validate_graph(g, shapes, ontology=ont, advanced=False)
        t_ours = time.perf_counter() - t
        assert rep.total == bare_results, (rep.total, bare_results)
        print(f"{n:>7} focus nodes: pyshacl alone {t_bare:6.2f} s | citygov {t_ours:6.2f} s | "
              f"ratio {t_ours / t_bare:.2f} | violations {rep.total}")


if __name__ == "__main__":
    main()
