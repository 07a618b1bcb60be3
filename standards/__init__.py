"""standards/: the standards registry (JSON Schema, OpenAPI, SHACL) and its validation engines.

Engines (framework-free, usable without a database): :mod:`standards.loading` (safe input),
:mod:`standards.jsonschema_engine`, :mod:`standards.documents` (JSON / NDJSON / CSV),
:mod:`standards.openapi_engine`, :mod:`standards.oasdiff` (breaking changes), :mod:`standards.compat`
(JSON Schema compatibility), :mod:`standards.shacl_engine`, :mod:`standards.lint`, :mod:`standards.reports`.
Registry use cases: :mod:`standards.services`.
"""

from standards import policies  # noqa: F401  (registers the standards policies)
