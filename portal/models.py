"""Tables owned by the portal (identity and access). Imported by the migration environment."""

from portal.accounts.models import ApiToken, LoginAttempt, Membership, Organisation, User, WebSession
from portal.jobs.models import Job

__all__ = ["ApiToken", "Job", "LoginAttempt", "Membership", "Organisation", "User", "WebSession"]
