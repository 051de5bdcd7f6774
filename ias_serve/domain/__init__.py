"""Pure domain logic: no I/O, no database, no network.

Modules: ``roles`` (Role, OrgRole, Status), ``keys`` (API keys), ``tokens`` (session/invite
tokens), ``passwords`` (argon2id), ``emails``, ``budget`` (monthly windows, token amounts),
``model_mappings`` (backend kinds, name/target rules, per-org allow-lists), ``audit``
(action types, secret redaction). Invalid input raises :class:`InvalidValue`, which is both a
``ValueError`` (so pydantic validators turn it into a 422) and an
:class:`ias_serve.errors.ValidationFailed` (so the API renders it as a 422 too).
"""

from ias_serve.domain.validation import InvalidValue, clean_name

__all__ = ["InvalidValue", "clean_name"]
