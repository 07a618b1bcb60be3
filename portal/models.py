"""Tables owned by the portal (identity and access). Imported by the migration environment."""

from portal.accounts.models import ApiToken, LoginAttempt, Membership, Organisation, User

__all__ = ["ApiToken", "LoginAttempt", "Membership", "Organisation", "User"]
