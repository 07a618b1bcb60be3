"""registry/: the commission's project library — proposals validated against a published JSON Schema,
bulk import, compliance pre-checks (rules as data), duplicate-construction detection (char n-gram TF-IDF +
structured overlap), the review workflow (explicit state machine, blind weighted expert review) and the
portfolio. Imports kernel, audit and standards; never Flask, never portal."""

from registry import policies  # noqa: F401  (registers the registry policies)
