"""registry.certify: vendor interface certification and transparency-logged certificates.

* :mod:`registry.certify.engine` — a certification run as a library (validity, lint, conformance to the
  standard with the breaking-change engine, HAR traffic with openapi-core, optional live probe);
* :mod:`registry.certify.reports` — JSON, JUnit XML, SARIF 2.1.0, HTML and text renderings;
* :mod:`registry.certify.certificates` — JWS (EdDSA, RFC 8037) certificates signed with the platform's
  Ed25519 audit key, carrying their audit-log inclusion proof and checkpoint; offline verification;
* :mod:`registry.certify.services` — stored runs and certificates (issue, revoke, expire, supersede).

Imports kernel, audit and standards; never Flask, never portal.
"""

from registry.certify import policies  # noqa: F401  (registers the certification policies)
