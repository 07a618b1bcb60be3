"""secmon use cases, one module per concern; this module re-exports them for callers that import
``secmon.services``.

- :mod:`secmon.sensors` — sensors and push tokens
- :mod:`secmon.rulesets` — rule-set import and versions
- :mod:`secmon.ingest` — EVE ingestion and retention
- :mod:`secmon.monitoring` — monitoring queries
- :mod:`secmon.assets`, :mod:`secmon.incidents`, :mod:`secmon.responses`, :mod:`secmon.remediation`,
  :mod:`secmon.search` — the response half (strike and governance)
"""

from secmon.ingest import (IngestReport, ensure_partitions, event_partitions, eve_ingest, eve_ingest_stream,  # noqa: F401
                           events_purge)
from secmon.monitoring import (alerts_over_time, alerts_unknown_sid, parse_time, quarantine_list,  # noqa: F401
                               rule_coverage, sensor_health, top_alerts)
from secmon.rulesets import ruleset_import, ruleset_versions  # noqa: F401
from secmon.sensors import get_sensor, sensor_principal, sensor_register  # noqa: F401
