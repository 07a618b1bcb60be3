"""opendata: personal-data detection, desensitization and anonymity for data opening (issue 7).

Framework-free: no Flask, no portal. Sub-modules:

- :mod:`opendata.validators` — check characters and components (resident ID, USCC, Luhn, ...)
- :mod:`opendata.recognizers` — recognisers loaded from ``data/recognizers.yaml``; :class:`Detector`
- :mod:`opendata.tabular` — CSV / XLSX / JSON / NDJSON readers, encoding and delimiter detection
- :mod:`opendata.scan` — column classification and per-cell scan
- :mod:`opendata.policy`, :mod:`opendata.operators`, :mod:`opendata.desensitize` — policies and operators
- :mod:`opendata.anonymity` — k-anonymity, l-diversity, t-closeness, risks, lattice search
- :mod:`opendata.gate` — the release gate (every cell, every checksum-valid direct identifier)
- :mod:`opendata.catalog`, :mod:`opendata.release` — datasets, distributions, grading, the audited
  release workflow (issue 13); :mod:`opendata.search` — full-text catalog search; :mod:`opendata.access`
  — conditional access; :mod:`opendata.ckan`, :mod:`opendata.dcat` — CKAN Action API, DCAT-AP
"""

from opendata import policies  # noqa: F401  (registers the opendata policies)

__all__ = ["AreaCodes", "Detector", "Finding", "default_detector"]

_LAZY = {"Detector": "opendata.recognizers", "Finding": "opendata.recognizers",
         "default_detector": "opendata.recognizers", "AreaCodes": "opendata.validators"}


def __getattr__(name: str):  # the detection API, imported when first used (a catalog command does not load it)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'opendata' has no attribute {name!r}")
