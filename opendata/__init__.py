"""opendata: personal-data detection, desensitization and anonymity for data opening (issue 7).

Framework-free: no Flask, no portal. Sub-modules:

- :mod:`opendata.validators` — check characters and components (resident ID, USCC, Luhn, ...)
- :mod:`opendata.recognizers` — recognisers loaded from ``data/recognizers.yaml``; :class:`Detector`
- :mod:`opendata.tabular` — CSV / XLSX / JSON / NDJSON readers, encoding and delimiter detection
- :mod:`opendata.scan` — column classification and per-cell scan
- :mod:`opendata.policy`, :mod:`opendata.operators`, :mod:`opendata.desensitize` — policies and operators
- :mod:`opendata.anonymity` — k-anonymity, l-diversity, t-closeness, risks, lattice search
"""

from opendata.recognizers import Detector, Finding, default_detector
from opendata.validators import AreaCodes

__all__ = ["AreaCodes", "Detector", "Finding", "default_detector"]
