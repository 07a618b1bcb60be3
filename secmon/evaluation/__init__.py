"""secmon evaluation: indicators, weighted score, control mapping (NIST CSF 2.0, MLPS 2.0 level 3), reports
(HTML with SVG charts, PDF, JSON) stored immutably with their digests in the audit log, comparisons, and the
scheduler's units of work (periodic reports, retention pruning, stale-sensor alerts)."""

from secmon.evaluation import policies  # noqa: F401  (registers the policies)
