"""Thin async repositories, one per resource. Each takes an ``AsyncSession``; the caller owns
the transaction (``async with sessionmaker() as s, s.begin(): ...``), so a change and its audit
row commit together. Unique violations raise :class:`ias_serve.errors.Conflict` (``param``
names the field), missing FK targets :class:`ias_serve.errors.NotFound`; both roll back only a
SAVEPOINT, so the transaction stays usable.
"""

from ias_serve.db.repositories._base import MAX_PAGE, UNSET, Unset
from ias_serve.db.repositories.api_keys import ApiKeyRepository
from ias_serve.db.repositories.audit import AuditRepository
from ias_serve.db.repositories.budget_alerts import BudgetAlertRepository
from ias_serve.db.repositories.budgets import BudgetRepository
from ias_serve.db.repositories.invites import InviteRepository
from ias_serve.db.repositories.model_mappings import ModelMappingRepository
from ias_serve.db.repositories.orgs import OrgRepository
from ias_serve.db.repositories.rate_limits import RateLimitRepository
from ias_serve.db.repositories.sessions import SessionRepository
from ias_serve.db.repositories.users import MembershipRepository, UserRepository

__all__ = [
    "MAX_PAGE",
    "UNSET",
    "ApiKeyRepository",
    "AuditRepository",
    "BudgetAlertRepository",
    "BudgetRepository",
    "InviteRepository",
    "MembershipRepository",
    "ModelMappingRepository",
    "OrgRepository",
    "RateLimitRepository",
    "SessionRepository",
    "Unset",
    "UserRepository",
]
