"""standards/: the standards registry (JSON Schema, OpenAPI, SHACL) and its validation engines.

Engines (framework-free, usable without a database): :mod:`standards.loading` (safe input),
:mod:`standards.jsonschema_engine`, :mod:`standards.documents` (JSON / NDJSON / CSV),
:mod:`standards.openapi_engine`, :mod:`standards.oasdiff` (breaking changes), :mod:`standards.compat`
(JSON Schema compatibility), :mod:`standards.shacl_engine`, :mod:`standards.lint`, :mod:`standards.reports`.
Registry use cases: :mod:`standards.services`.
"""

import os as _os

# openapi-spec-validator's schema backend, pinned before anything builds its lazy validators (see openapi_engine)
_os.environ.setdefault("OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND", "jsonschema")

from standards import policies  # noqa: E402,F401  (registers the standards policies)
