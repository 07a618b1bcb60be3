"""Identity and access: organisations, users, roles, passwords, API tokens, login throttling."""

from portal.accounts import policies  # noqa: F401  (registers the policies)
