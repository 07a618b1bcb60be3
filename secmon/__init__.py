"""secmon: Suricata rule sets (defense) and EVE JSON ingestion (monitoring).

The rule-set library (:mod:`secmon.rules`, :mod:`secmon.policy_files`, :mod:`secmon.lint`,
:mod:`secmon.ruleset_diff`) is framework-free; services live in :mod:`secmon.services`.
"""

from secmon import policies  # noqa: F401  (registers the policies)
