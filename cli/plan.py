"""`ias-admin apply`'s pure part: the declarative file, the platform's state, and the plan that
takes one to the other. No I/O here (see :mod:`cli.apply` for reading the state and executing).

The file (YAML)::

    models:                     # optional: model mappings to create / keep as described
      - name: llama3
        remote_url: http://llama:8000/v1      # or serve: <engine deployment>
        enabled: true
        price_per_million_input: "0.15"
        price_per_million_output: "0.60"
        access: listed          # all: every org; listed: only the orgs listing it (below);
                                # omitted: leave as it is
    orgs:
      - name: acme
        status: active          # or disabled; omitted: leave as it is
        budget: 500M            # monthly token limit (500M, 2B, unlimited); omitted: leave
        admins: [ada@acme.example]        # Org Admins (invited when not members yet)
        users: [grace@acme.example]       # Org Users
        models: [llama3, echo-model]      # the models acme may use; omitted: leave
        rate_limits:            # omitted (or a limit omitted): leave as it is
          requests_per_minute: 600          # a whole number ≥ 1, or unlimited (null)
          tokens_per_minute: 100k           # token amounts as for budget
          max_concurrent_requests: 8
        rate_limit_ceiling:     # same shape; System Admins only: the most Org Admins may set
          tokens_per_minute: 2M
        budget_alerts:          # omitted (or a key omitted): leave as it is
          thresholds: [50, 80, 100]         # % of the monthly budget: 1..100, unique, at most 10
          webhook_url: https://hooks.acme.example/ias   # http(s); null: e-mail only

Rules (each makes a second run change nothing):

* an org is matched by name (case-insensitively); missing → created with its budget;
* a listed person who is a member with another role → role changed; not a member and no
  pending invite with that role → invited; members and pending invites not listed are left
  alone unless ``--prune`` (then removed / revoked), and only for orgs that list people;
* ``models`` of an org: each model's ``allowed_org_ids`` gains the org where listed and loses
  it where not; a model open to every org (``allowed_org_ids: null``) stays open unless the
  file gives it ``access: listed`` (a warning says so);
* a model in ``models:`` is created when missing, and its given fields are set when different;
* ``rate_limits`` / ``rate_limit_ceiling``: each given limit is set when different (the others
  keep their value: the executor reads, merges and PUTs);
* ``budget_alerts``: ``thresholds`` (compared as a set) and ``webhook_url`` are set when
  different, the one left out keeps its value (read, merge, PUT); a webhook signing secret the
  API generates (the first webhook URL) is in the action's result, shown once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from cli.tokens import format_token_amount
from ias_serve.domain.budget import parse_token_amount

ROLE_ADMIN, ROLE_USER = "org_admin", "org_user"
RATE_LIMIT_FIELDS = ("requests_per_minute", "tokens_per_minute", "max_concurrent_requests")
BUDGET_ALERT_FIELDS = ("thresholds", "webhook_url")
MAX_ALERT_THRESHOLDS = 10
NEW_ORG_ALERTS: dict[str, Any] = {"thresholds": [], "webhook_url": None}  # what the API says of a new org


class PlanError(ValueError):
    """The file cannot be applied to this platform (e.g. it names a model that does not exist)."""


def cf(name: str) -> str:
    return name.strip().casefold()


# --- the file ------------------------------------------------------------------------------------


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _price(v: Any) -> Any:
    return str(v) if isinstance(v, float) else v  # YAML 0.15 is a float: keep its decimal text


class ModelSpec(_Spec):
    name: str = Field(min_length=1, max_length=200)
    serve: str | None = None
    remote_url: str | None = None
    enabled: bool | None = None
    price_per_million_input: Decimal | None = Field(default=None, ge=0)
    price_per_million_output: Decimal | None = Field(default=None, ge=0)
    access: Literal["all", "listed"] | None = None

    _prices = field_validator("price_per_million_input", "price_per_million_output", mode="before")(_price)

    @model_validator(mode="after")
    def _one_backend(self) -> ModelSpec:
        if self.serve is not None and self.remote_url is not None:
            raise ValueError("give serve or remote_url, not both")
        return self


def rate_limit_value(value: Any) -> int | None:
    """One rate limit of the file: a whole number ≥ 1 (``100k`` as for budgets), or unlimited
    (``null``, ``unlimited``); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, str, type(None))):
        raise ValueError(f"must be a whole number or unlimited, not {value!r}")
    amount = parse_token_amount(value)
    if amount is not None and amount < 1:
        raise ValueError(f"must be at least 1 (or unlimited), not {value!r}")
    return amount


def alert_thresholds(value: Any) -> list[int]:
    """``thresholds`` of ``budget_alerts``: whole percentages 1..100, unique, at most 10 (sorted);
    ``null`` or ``[]``: none. ValueError otherwise."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"must be a list of percentages like [50, 80, 100], not {value!r}")
    out: list[int] = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{v!r} is not a whole number")
        if not 1 <= v <= 100:
            raise ValueError(f"{v} is not between 1 and 100 (percent of the budget)")
        if v in out:
            raise ValueError(f"{v} is listed twice")
        out.append(v)
    if len(out) > MAX_ALERT_THRESHOLDS:
        raise ValueError(f"at most {MAX_ALERT_THRESHOLDS} thresholds, not {len(out)}")
    return sorted(out)


def alert_webhook_url(value: Any) -> str | None:
    """``webhook_url`` of ``budget_alerts``: an http(s) URL with a host, or ``null`` (none)."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"https?://[^\s/?#]+\S*", value.strip(), re.IGNORECASE):
        raise ValueError(f"must be an http(s) URL or null, not {value!r}")
    return value.strip()


class OrgSpec(_Spec):
    name: str = Field(min_length=1, max_length=200)
    status: Literal["active", "disabled"] | None = None
    budget: int | str | None = None
    admins: list[str] | None = None
    users: list[str] | None = None
    models: list[str] | None = None
    # the limits given (API field → value; None = unlimited); a limit not given is left alone
    rate_limits: dict[str, int | None] | None = None
    rate_limit_ceiling: dict[str, int | None] | None = None
    # the settings given (thresholds, webhook_url); one not given is left alone
    budget_alerts: dict[str, Any] | None = None

    @field_validator("budget_alerts", mode="before")
    @classmethod
    def _budget_alerts(cls, v: Any, info: ValidationInfo) -> dict[str, Any] | None:
        org = f"org {info.data.get('name', '?')}: budget_alerts"
        if v is None:
            return None
        if not isinstance(v, dict):
            raise ValueError(f"{org}: must be a mapping of {', '.join(BUDGET_ALERT_FIELDS)}")
        unknown = sorted(str(k) for k in v if k not in BUDGET_ALERT_FIELDS)
        if unknown:
            raise ValueError(
                f"{org}: unknown {', '.join(unknown)} (expected {', '.join(BUDGET_ALERT_FIELDS)})"
            )
        out: dict[str, Any] = {}
        for key, parse in (("thresholds", alert_thresholds), ("webhook_url", alert_webhook_url)):
            if key in v:
                try:
                    out[key] = parse(v[key])
                except ValueError as e:
                    raise ValueError(f"{org}.{key}: {e}") from None
        return out

    @field_validator("rate_limits", "rate_limit_ceiling", mode="before")
    @classmethod
    def _rate_limits(cls, v: Any, info: ValidationInfo) -> dict[str, int | None] | None:
        org = f"org {info.data.get('name', '?')}: {info.field_name}"
        if v is None:
            return None
        if not isinstance(v, dict):
            raise ValueError(f"{org}: must be a mapping of {', '.join(RATE_LIMIT_FIELDS)}")
        unknown = sorted(str(k) for k in v if k not in RATE_LIMIT_FIELDS)
        if unknown:
            raise ValueError(f"{org}: unknown {', '.join(unknown)} (expected {', '.join(RATE_LIMIT_FIELDS)})")
        out: dict[str, int | None] = {}
        for key, value in v.items():
            try:
                out[key] = rate_limit_value(value)
            except ValueError as e:
                raise ValueError(f"{org}.{key}: {e}") from None
        return out

    @field_validator("budget")
    @classmethod
    def _budget(cls, v: int | str | None) -> int | str | None:
        parse_token_amount(v)  # ValueError → a validation error naming the field
        return v

    @field_validator("admins", "users")
    @classmethod
    def _emails(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        out = []
        for email in v:
            e = cf(email)
            if "@" not in e or " " in e:
                raise ValueError(f"not an e-mail address: {email!r}")
            out.append(e)
        return out

    @model_validator(mode="after")
    def _people_once(self) -> OrgSpec:
        both = set(self.admins or ()) & set(self.users or ())
        if both:
            raise ValueError(f"listed as admin and as user: {', '.join(sorted(both))}")
        for lst in (self.admins, self.users, self.models):
            if lst is not None and len(set(lst)) != len(lst):
                raise ValueError("a name or address is listed twice")
        return self

    @property
    def budget_given(self) -> bool:
        return "budget" in self.model_fields_set

    @property
    def limit(self) -> int | None:
        return parse_token_amount(self.budget)

    @property
    def people(self) -> dict[str, str] | None:
        """Desired members, e-mail → role; None when the org lists nobody (members untouched)."""
        if self.admins is None and self.users is None:
            return None
        return {**dict.fromkeys(self.users or (), ROLE_USER), **dict.fromkeys(self.admins or (), ROLE_ADMIN)}


class TenantsFile(_Spec):
    version: Literal[1] = 1
    models: list[ModelSpec] = Field(default_factory=list)
    orgs: list[OrgSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> TenantsFile:
        for what, names in (
            ("org", [cf(o.name) for o in self.orgs]),
            ("model", [m.name for m in self.models]),
        ):
            dup = {n for n in names if names.count(n) > 1}
            if dup:
                raise ValueError(f"{what} listed twice: {', '.join(sorted(dup))}")
        return self


def parse_file(data: Any) -> TenantsFile:
    """The validated file (``data`` as loaded from YAML); :class:`PlanError` with every problem."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PlanError("the file must be a mapping with `orgs:` (and optionally `models:`)")
    try:
        return TenantsFile.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{loc}: {msg}" if loc else msg)
        raise PlanError("; ".join(problems)) from None


# --- the platform as it is -----------------------------------------------------------------------


@dataclass
class Member:
    user_id: str
    email: str
    role: str


@dataclass
class Invite:
    id: str
    email: str
    role: str


@dataclass
class OrgState:
    id: str
    name: str
    status: str
    limit: int | None
    members: dict[str, Member] | None = None  # None: not read (the file lists nobody)
    invites: dict[str, Invite] | None = None
    # API field → value; None: not read (the file gives no rate limits for the org)
    rate_limits: dict[str, int | None] | None = None
    rate_limit_ceiling: dict[str, int | None] | None = None
    # thresholds (sorted), webhook_url; None: not read (the file gives no budget_alerts for the org)
    budget_alerts: dict[str, Any] | None = None


@dataclass
class ModelState:
    id: str
    name: str
    serve: str | None
    remote_url: str | None
    enabled: bool
    price_in: Decimal
    price_out: Decimal
    allowed: list[str] | None  # org ids; None = every org


@dataclass
class Platform:
    orgs: dict[str, OrgState] = field(default_factory=dict)  # by cf(name)
    models: dict[str, ModelState] | None = None  # by name; None: not read (no model in the file)

    def org_name(self, org_id: str) -> str:
        for o in self.orgs.values():
            if o.id == org_id:
                return o.name
        return org_id


# --- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    kind: str
    target: str
    change: str
    params: dict[str, Any]

    @property
    def symbol(self) -> str:
        if self.kind.startswith(("create", "invite")):
            return "+"
        if self.kind.startswith(("remove", "revoke")):
            return "-"
        return "~"

    def describe(self) -> str:
        return f"{self.symbol} {self.target}: {self.change}"

    def as_json(self) -> dict[str, Any]:
        return {"action": self.kind, "target": self.target, "change": self.change, "params": self.params}


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.actions


def _needs_models(spec: TenantsFile) -> bool:
    return bool(spec.models) or any(o.models is not None for o in spec.orgs)


def plan(spec: TenantsFile, platform: Platform, *, prune: bool = False) -> Plan:
    """What to do, in order, to make ``platform`` match ``spec``."""
    p = Plan()
    orgs_phase: list[Action] = []
    people_phase: list[Action] = []
    removal_phase: list[Action] = []
    for o in spec.orgs:
        current = platform.orgs.get(cf(o.name))
        if current is None:
            body: dict[str, Any] = {"name": o.name}
            if o.budget_given and o.limit is not None:
                body["monthly_token_limit"] = o.limit
            budget = f" (budget {format_token_amount(o.limit)})" if o.budget_given else ""
            orgs_phase.append(
                Action("create_org", f"org {o.name}", f"create{budget}", {"org": o.name, "body": body})
            )
            if o.status == "disabled":
                orgs_phase.append(
                    Action(
                        "update_org",
                        f"org {o.name}",
                        "status active → disabled",
                        {"org": o.name, "status": "disabled"},
                    )
                )
        else:
            if o.status is not None and o.status != current.status:
                orgs_phase.append(
                    Action(
                        "update_org",
                        f"org {current.name}",
                        f"status {current.status} → {o.status}",
                        {"org": o.name, "status": o.status},
                    )
                )
            if o.budget_given and o.limit != current.limit:
                orgs_phase.append(
                    Action(
                        "set_budget",
                        f"org {current.name}",
                        f"budget {format_token_amount(current.limit)} → {format_token_amount(o.limit)}",
                        {"org": o.name, "monthly_token_limit": o.limit},
                    )
                )
        orgs_phase.extend(_rate_limit_actions(o, current))
        orgs_phase.extend(_budget_alert_actions(o, current))
        people = o.people
        if people is None:
            continue
        members = (current.members if current else None) or {}
        invites = (current.invites if current else None) or {}
        for email, role in people.items():
            m = members.get(email)
            if m is not None:
                if m.role != role:
                    people_phase.append(
                        Action(
                            "set_role",
                            f"member {email} of {o.name}",
                            f"role {m.role} → {role}",
                            {"org": o.name, "email": email, "user_id": m.user_id, "role": role},
                        )
                    )
                continue
            inv = invites.get(email)
            if inv is not None and inv.role == role:
                continue
            change = f"invite as {role}" + (f" (replaces the pending invite as {inv.role})" if inv else "")
            people_phase.append(
                Action(
                    "invite",
                    f"member {email} of {o.name}",
                    change,
                    {"org": o.name, "email": email, "role": role},
                )
            )
        extra_members = [m for e, m in members.items() if e not in people]
        extra_invites = [i for e, i in invites.items() if e not in people]
        if prune:
            for m in extra_members:
                removal_phase.append(
                    Action(
                        "remove_member",
                        f"member {m.email} of {o.name}",
                        f"remove ({m.role}; their keys in the org are revoked)",
                        {"org": o.name, "email": m.email, "user_id": m.user_id},
                    )
                )
            for i in extra_invites:
                removal_phase.append(
                    Action(
                        "revoke_invite",
                        f"invite {i.email} to {o.name}",
                        "revoke the pending invite",
                        {"org": o.name, "email": i.email, "invite_id": i.id},
                    )
                )
        elif extra_members or extra_invites:
            names = ", ".join(
                sorted([m.email for m in extra_members] + [f"{i.email} (invited)" for i in extra_invites])
            )
            p.warnings.append(f"{o.name}: not in the file, kept (--prune removes them): {names}")
    p.actions = orgs_phase + _model_actions(spec, platform, p.warnings) + people_phase + removal_phase
    return p


def _limit_text(field: str, value: int | None) -> str:
    if value is None:
        return "unlimited"
    return format_token_amount(value) if field == "tokens_per_minute" else str(value)


def _rate_limit_actions(o: OrgSpec, current: OrgState | None) -> list[Action]:
    """``set_rate_limit_ceiling`` / ``set_rate_limits`` for the limits of ``o`` that differ
    (all given ones for a new org). Their params carry only the changes: the executor reads,
    merges and PUTs. The ceiling goes first when the new limits do not fit under the current
    one (raising both), else last (lowering both)."""
    target = f"org {current.name if current else o.name}"
    actions: dict[str, Action] = {}
    for section, kind, label in (
        ("rate_limits", "set_rate_limits", "rate limits"),
        ("rate_limit_ceiling", "set_rate_limit_ceiling", "rate limit ceiling"),
    ):
        wanted: dict[str, int | None] | None = getattr(o, section)
        if not wanted:
            continue
        now = getattr(current, section) if current is not None else None
        if now is None:  # a new org (or not read): every given limit
            changes = dict(wanted)
            text = ", ".join(f"{f} {_limit_text(f, v)}" for f, v in changes.items())
        else:
            changes = {f: v for f, v in wanted.items() if now.get(f) != v}
            text = ", ".join(
                f"{f} {_limit_text(f, now.get(f))} → {_limit_text(f, v)}" for f, v in changes.items()
            )
        if changes:
            actions[kind] = Action(kind, target, f"{label}: {text}", {"org": o.name, "changes": changes})
    limits, ceiling = actions.get("set_rate_limits"), actions.get("set_rate_limit_ceiling")
    if limits is None or ceiling is None:
        return [a for a in (ceiling, limits) if a is not None]
    cur_ceiling = (current.rate_limit_ceiling if current else None) or {}
    cur_limits = (current.rate_limits if current else None) or {}
    desired = {**cur_limits, **limits.params["changes"]}
    fits = current is not None and all(
        cur_ceiling.get(f) is None or (desired.get(f) is not None and desired[f] <= cur_ceiling[f])
        for f in RATE_LIMIT_FIELDS
    )
    return [limits, ceiling] if fits else [ceiling, limits]


def _alert_text(field: str, value: Any) -> str:
    if field == "thresholds":
        return ", ".join(f"{v}%" for v in value) if value else "none"
    return value or "none"


def _budget_alert_actions(o: OrgSpec, current: OrgState | None) -> list[Action]:
    """``set_budget_alerts`` when the given settings of ``o`` differ (for a new org: from no
    thresholds and no webhook). Its params carry only the changes: the executor reads, merges and PUTs."""
    wanted = o.budget_alerts
    if not wanted:
        return []
    now = current.budget_alerts if current is not None else None
    if now is None:  # a new org (or not read): every given setting a new org does not have already
        changes = {f: v for f, v in wanted.items() if v != NEW_ORG_ALERTS[f]}
        text = "; ".join(f"{f} {_alert_text(f, v)}" for f, v in changes.items())
    else:
        changes = {f: v for f, v in wanted.items() if now.get(f) != v}
        text = "; ".join(
            f"{f} {_alert_text(f, now.get(f))} → {_alert_text(f, v)}" for f, v in changes.items()
        )
    if not changes:
        return []
    target = f"org {current.name if current else o.name}"
    return [
        Action("set_budget_alerts", target, f"budget alerts: {text}", {"org": o.name, "changes": changes})
    ]


def _model_actions(spec: TenantsFile, platform: Platform, warnings: list[str]) -> list[Action]:
    if not _needs_models(spec):
        return []
    if platform.models is None:
        raise PlanError("the file manages models: that needs a System Admin session")
    defined = {m.name: m for m in spec.models}
    lists = {o.name: set(o.models) for o in spec.orgs if o.models is not None}
    for org_name, names in lists.items():
        unknown = sorted(n for n in names if n not in platform.models and n not in defined)
        if unknown:
            raise PlanError(
                f"org {org_name}: no model named {', '.join(unknown)} (define it under `models:`)"
            )
    actions: list[Action] = []
    for name in sorted(set(platform.models) | set(defined)):
        ms, cur = defined.get(name), platform.models.get(name)
        if cur is None:
            assert ms is not None
            if ms.serve is None and ms.remote_url is None:
                raise PlanError(f"model {name}: a new model needs serve or remote_url")
            body = _model_body(ms, None)
            access = _access(name, ms, None, platform, warnings, lists)
            text = "create " + (f"serve {ms.serve}" if ms.serve else f"remote_url {ms.remote_url}")
            if access is not None:
                text += "; " + access[1]
            actions.append(
                Action(
                    "create_model",
                    f"model {name}",
                    text,
                    {"model": name, "body": body, "access": access[0] if access else {"unchanged": True}},
                )
            )
            continue
        if ms is not None:
            body = _model_body(ms, cur)
            if body:
                changes = ", ".join(f"{k} → {v}" for k, v in body.items())
                actions.append(
                    Action(
                        "update_model",
                        f"model {name}",
                        changes,
                        {"model": name, "model_id": cur.id, "body": body},
                    )
                )
        access = _access(name, ms, cur, platform, warnings, lists)
        if access is not None:
            actions.append(
                Action(
                    "set_model_access",
                    f"model {name}",
                    access[1],
                    {"model": name, "model_id": cur.id, **access[0]},
                )
            )
    return actions


def _model_body(ms: ModelSpec, cur: ModelState | None) -> dict[str, Any]:
    """The fields of ``ms`` that differ from ``cur`` (all given ones for a new model)."""
    body: dict[str, Any] = {}
    if cur is None:
        body["name"] = ms.name
    if ms.serve is not None and (cur is None or cur.serve != ms.serve):
        body["serve"] = ms.serve
    if ms.remote_url is not None and (
        cur is None or (cur.remote_url or "").rstrip("/") != ms.remote_url.rstrip("/")
    ):
        body["remote_url"] = ms.remote_url
    if ms.enabled is not None and (cur is None or cur.enabled != ms.enabled):
        body["enabled"] = ms.enabled
    for key, value, now in (
        ("price_per_million_input", ms.price_per_million_input, cur.price_in if cur else None),
        ("price_per_million_output", ms.price_per_million_output, cur.price_out if cur else None),
    ):
        if value is not None and (now is None or Decimal(value) != Decimal(now)):
            body[key] = format(value.normalize(), "f")
    return body


def _access(
    name: str,
    ms: ModelSpec | None,
    cur: ModelState | None,
    platform: Platform,
    warnings: list[str],
    lists: dict[str, set[str]],
) -> tuple[dict[str, Any], str] | None:
    """The model's desired ``allowed_org_ids`` as ``({"all": True} | {"ids", "new_orgs"}, text)``,
    or None when it does not change."""
    mode = ms.access if ms is not None else None
    allowed = cur.allowed if cur is not None else None  # a new model starts open (the API default)
    if mode == "all":
        if cur is not None and allowed is None:
            return None
        return {"all": True}, "open to every organisation"
    if allowed is None and mode != "listed":
        for org_name, names in lists.items():
            if name not in names:
                warnings.append(
                    f"model {name} is open to every organisation, so {org_name} can use it although "
                    f"its `models` does not list it (give the model `access: listed` to restrict it)"
                )
        return None
    ids: list[str] = list(allowed or [])
    new_orgs: list[str] = []
    added: list[str] = []
    removed: list[str] = []
    for org_name, names in lists.items():
        org = platform.orgs.get(cf(org_name))
        wants = name in names
        if org is None:
            if wants:
                new_orgs.append(org_name)
                added.append(org_name)
            continue
        if wants and org.id not in ids:
            ids.append(org.id)
            added.append(org.name)
        elif not wants and org.id in ids:
            ids.remove(org.id)
            removed.append(org.name)
    if allowed is not None and not added and not removed:
        return None
    text = []
    if allowed is None:
        shown = [platform.org_name(i) for i in ids] + new_orgs
        was = " (was: every organisation)" if cur is not None else ""
        text.append("only " + (", ".join(shown) if shown else "no organisation") + was)
    else:
        if added:
            text.append("allow " + ", ".join(added))
        if removed:
            text.append("deny " + ", ".join(removed))
    return {"ids": ids, "new_orgs": new_orgs}, "; ".join(text)
