"""SHACL validation through pyshacl, with the standard's ontology mixed in (so ``sh:targetClass`` and
``sh:class`` see ``rdfs:subClassOf`` instances without full RDFS inference) and reports turned into
findings: focus node, result path, constraint component, value, message, severity."""

from __future__ import annotations

from typing import Any

from rdflib import RDF, Graph, Namespace, URIRef
from rdflib.term import BNode, Literal, Node

from standards.loading import InputError, parse_rdf
from standards.reports import DEFAULT_EXAMPLES, Report

SH = Namespace("http://www.w3.org/ns/shacl#")
SEVERITY = {SH.Violation: "error", SH.Warning: "warning", SH.Info: "info"}


class InvalidShapes(InputError):
    code = "invalid_shapes"
    title = "Invalid SHACL shapes"


def load_graph(data: bytes | str, *, fmt: str | None = None, filename: str | None = None,
               max_bytes: int | None = None) -> Graph:
    return parse_rdf(data, fmt=fmt, filename=filename, max_bytes=max_bytes)


def shapes_problems(shapes: Graph) -> list[dict[str, Any]]:
    """Well-formedness of a shapes graph: at least one shape, every shape loads in pyshacl, and the graph
    conforms to the SHACL-for-SHACL meta-shapes."""
    from pyshacl import validate

    problems: list[dict[str, Any]] = []
    has_shape = any(True for _ in shapes.subjects(RDF.type, SH.NodeShape)) or \
        any(True for _ in shapes.subjects(RDF.type, SH.PropertyShape)) or \
        any(True for _ in shapes.subjects(SH.path, None))
    if not has_shape:
        problems.append({"rule": "shacl-no-shapes", "message": "the graph declares no sh:NodeShape / sh:PropertyShape",
                         "pointer": ""})
        return problems
    try:
        conforms, report_graph, _ = validate(Graph(), shacl_graph=shapes, meta_shacl=True, inference="none",
                                             advanced=True, allow_warnings=True)
    except Exception as exc:  # ShapeLoadError, ConstraintLoadError, ReportableRuntimeError …
        msg = str(exc).strip().splitlines()
        problems.append({"rule": f"shacl-{type(exc).__name__}", "pointer": "",
                         "message": (msg[0] if msg else type(exc).__name__)[:1000]})
        return problems
    if not conforms and report_graph is not None:
        for f in report_findings(report_graph):
            f["rule"] = "shacl-shacl:" + f["rule"]
            problems.append(f)
    return problems


def _term(g: Graph, node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, URIRef):
        try:
            return g.namespace_manager.normalizeUri(node) if False else str(node)
        except Exception:  # noqa: BLE001
            return str(node)
    if isinstance(node, BNode):
        return f"_:{node}"
    if isinstance(node, Literal):
        return node.n3()
    return str(node)


def _path_str(g: Graph, path: Node | None) -> str | None:
    if path is None:
        return None
    if isinstance(path, URIRef):
        return str(path)
    inv = g.value(path, SH.inversePath)
    if inv is not None:
        return f"^{_path_str(g, inv)}"
    for kw, sym in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
        inner = g.value(path, kw)
        if inner is not None:
            return f"({_path_str(g, inner)}){sym}"
    alt = g.value(path, SH.alternativePath)
    if alt is not None:
        from rdflib.collection import Collection

        return "(" + " | ".join(_path_str(g, x) or "" for x in Collection(g, alt)) + ")"
    try:
        from rdflib.collection import Collection

        items = list(Collection(g, path))
        if items:
            return " / ".join(_path_str(g, x) or "" for x in items)
    except Exception:  # noqa: BLE001
        pass
    return _term(g, path)


def report_findings(report: Graph) -> list[dict[str, Any]]:
    out = []
    for res in report.subjects(RDF.type, SH.ValidationResult):
        comp = report.value(res, SH.sourceConstraintComponent)
        rule = str(comp).rsplit("#", 1)[-1] if comp is not None else "constraint"
        messages = [str(m) for m in report.objects(res, SH.resultMessage)]
        f: dict[str, Any] = {
            "rule": rule,
            "level": SEVERITY.get(report.value(res, SH.resultSeverity), "error"),
            "focus_node": _term(report, report.value(res, SH.focusNode)),
            "path": _path_str(report, report.value(res, SH.resultPath)),
            "component": str(comp) if comp is not None else None,
            "shape": _term(report, report.value(res, SH.sourceShape)),
            "value": _term(report, report.value(res, SH.value)),
            "message": messages[0] if messages else rule,
        }
        out.append(f)
    out.sort(key=lambda f: (f["rule"], f["focus_node"] or "", f["path"] or ""))
    return out


def validate_graph(data: Graph, shapes: Graph, *, ontology: Graph | None = None, inference: str = "none",
                   advanced: bool = True, focus_nodes: list | None = None, inplace: bool = False,
                   max_examples: int = DEFAULT_EXAMPLES, subject: str = "") -> Report:
    """Validate; raise :class:`InvalidShapes` if pyshacl cannot load the shapes."""
    from pyshacl import validate

    report = Report("validate", subject=subject, max_examples=max_examples)
    try:
        conforms, rgraph, _ = validate(data, shacl_graph=shapes, ont_graph=ontology, inference=inference,
                                       advanced=advanced, abort_on_first=False, allow_warnings=False,
                                       focus_nodes=focus_nodes, inplace=inplace, meta_shacl=False)
    except RecursionError:
        raise InputError("the data or shapes graph nests too deeply") from None
    except Exception as exc:  # noqa: BLE001 - pyshacl raises its own load/runtime errors
        msg = str(exc).strip().splitlines()
        raise InvalidShapes(f"SHACL validation could not run: {type(exc).__name__}: "
                            f"{(msg[0] if msg else '')[:500]}") from None
    if not isinstance(rgraph, Graph):  # pyshacl's ValidationFailure: the shapes could not be evaluated
        raise InvalidShapes(f"SHACL validation failed to run: {getattr(rgraph, 'message', rgraph)}")
    report.meta["conforms"] = bool(conforms)
    report.extend(report_findings(rgraph))
    report.checked = len({f["focus_node"] for f in report.findings()}) if report.total else 0
    if not conforms and report.errors == 0 and report.total == 0:
        report.add({"rule": "shacl", "level": "error", "message": "the data graph does not conform"})
    return report


def conforms(report: Report) -> bool:
    return bool(report.meta.get("conforms", report.ok))
