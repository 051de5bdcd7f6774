/** Wire formats of the Management API (`/api`) and the Analytics API (`/analytics`),
 * mirrored from ias_serve/protocol/management/*.py and ias_serve/protocol/analytics.py. */

export type OrgRole = "org_admin" | "org_user";
export type Status = "active" | "disabled";
export type KeyStatus = "active" | "revoked" | "expired";

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

// --- auth ---------------------------------------------------------------------------------

export interface UserPublic {
  id: string;
  email: string;
  name: string;
  is_system_admin: boolean;
}

export interface SessionPublic {
  token: string;
  expires_at: string;
  user: UserPublic;
}

export interface MembershipPublic {
  org_id: string;
  org_name: string;
  role: OrgRole;
  joined_at: string;
}

export interface MePublic {
  user: UserPublic;
  is_system_admin: boolean;
  memberships: MembershipPublic[];
  session_expires_at: string | null;
}

export interface PasswordChanged {
  sessions_revoked: number;
}

// --- organisations ------------------------------------------------------------------------

export interface OrgPublic {
  id: string;
  name: string;
  status: Status;
  monthly_token_limit: number | null;
  created_at: string;
  updated_at: string;
}

export interface Page<T> {
  data: T[];
  count: number;
  next_cursor?: string | null;
}

export interface OrgDeleted {
  id: string;
  name: string;
  members_removed: number;
  users_deleted: number;
  keys_deleted: number;
  invites_deleted: number;
}

// --- members and invites ------------------------------------------------------------------

export interface MemberPublic {
  id: string;
  email: string;
  name: string;
  role: OrgRole;
  status: Status;
  joined_at: string;
}

export interface MemberRemoved {
  user_id: string;
  org_id: string;
  keys_revoked: number;
  sessions_revoked: number;
}

export type InviteStatus = "pending" | "accepted" | "revoked" | "expired";

export interface InvitePublic {
  id: string;
  org_id: string;
  email: string;
  role: OrgRole;
  status: InviteStatus | string;
  invited_by: string | null;
  created_at: string;
  expires_at: string;
}

export interface InviteSent {
  invite: InvitePublic;
  email: "smtp" | "outbox" | "failed";
  link: string | null;
  replaced: number;
}

export interface InviteInfo {
  org_id: string;
  org_name: string;
  email: string;
  role: OrgRole;
  invited_by_name: string | null;
  invited_by_email: string | null;
  expires_at: string;
  existing_account: boolean;
}

// --- keys -----------------------------------------------------------------------------------

export interface KeyPublic {
  id: string;
  org_id: string;
  name: string;
  prefix: string;
  owner: { id: string; email: string };
  status: KeyStatus;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface KeyCreatedPublic extends KeyPublic {
  key: string;
}

export interface KeyCreate {
  name: string;
  expires_at?: string;
  expires_in_days?: number;
}

// --- budgets --------------------------------------------------------------------------------

export interface BudgetPublic {
  org_id: string;
  monthly_token_limit: number | null;
  monthly_token_limit_display: string;
  updated_at: string | null;
  updated_by: string | null;
  period: string;
  used_this_month: number | null;
  remaining_this_month: number | null;
}

// --- rate limits ----------------------------------------------------------------------------

/** The three rate limits; null = unlimited. */
export interface RateLimitValues {
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  max_concurrent_requests: number | null;
}

export type RateLimitField = keyof RateLimitValues;

/** `GET/PUT /api/org/{id}/rate-limits` (and `PUT …/rate-limits/ceiling`). */
export interface OrgRateLimitsPublic {
  org_id: string;
  /** What the Org Admins set (within the ceiling). */
  limits: RateLimitValues;
  /** The most the Org Admins may set (System Admins set it). */
  ceiling: RateLimitValues;
  /** What the gateway enforces. */
  effective: RateLimitValues;
  updated_at: string | null;
  updated_by: string | null;
}

/** `GET/PUT /api/org/{id}/key/{key_id}/rate-limits`. */
export interface KeyRateLimitsPublic {
  key_id: string;
  org_id: string;
  limits: RateLimitValues;
  effective: RateLimitValues;
}

// --- budget alerts --------------------------------------------------------------------------

/** Where one alert's e-mail or webhook stands ("none": no webhook was configured). */
export type AlertDeliveryStatus = "pending" | "delivered" | "failed" | "none";

/** One alert: usage crossed `threshold` % of the monthly budget (once per threshold per month). */
export interface BudgetAlertPublic {
  id: string;
  period: string;
  threshold: number;
  used_tokens: number;
  limit_tokens: number;
  created_at: string;
  email_status: AlertDeliveryStatus;
  webhook_status: AlertDeliveryStatus;
  attempts: number;
  last_error: string | null;
}

/** `GET /api/org/{id}/budget/alerts`: the settings and this month's alerts, newest first. */
export interface BudgetAlertsPublic {
  org_id: string;
  /** Percentages of the monthly budget (1..100). */
  thresholds: number[];
  webhook_url: string | null;
  webhook_secret_set: boolean;
  alerts: BudgetAlertPublic[];
  updated_at: string | null;
  updated_by: string | null;
}

/** `PUT /api/org/{id}/budget/alerts`. */
export interface BudgetAlertsWrite {
  thresholds: number[];
  webhook_url: string | null;
  rotate_secret?: boolean;
}

/** The PUT's answer: `webhook_secret` only when one was just generated (shown once). */
export interface BudgetAlertsUpdated extends BudgetAlertsPublic {
  webhook_secret?: string;
}

// --- model mappings -------------------------------------------------------------------------

export type BackendKind = "serve" | "remote_url";

export interface ModelPublic {
  id: string;
  name: string;
  backend_kind: BackendKind;
  serve: string | null;
  remote_url: string | null;
  enabled: boolean;
  allowed_org_ids: string[] | null;
  price_per_million_input: string;
  price_per_million_output: string;
  created_at: string;
  updated_at: string;
}

export interface ModelWrite {
  name?: string;
  serve?: string;
  remote_url?: string;
  enabled?: boolean;
  allowed_org_ids?: string[] | null;
  price_per_million_input?: string;
  price_per_million_output?: string;
}

// --- audit ----------------------------------------------------------------------------------

export interface AuditEntryPublic {
  id: number;
  ts: string;
  org_id: string | null;
  user_id: string | null;
  user_email: string | null;
  action_type: string;
  payload: Record<string, unknown>;
}

export const AUDIT_ACTIONS = [
  "org_created",
  "org_updated",
  "org_deleted",
  "user_invited",
  "invite_accepted",
  "invite_revoked",
  "invite_resent",
  "user_removed",
  "user_role_changed",
  "user_updated",
  "key_created",
  "key_revoked",
  "budget_changed",
  "model_added",
  "model_updated",
  "model_removed",
  "password_changed",
  "system_admin_bootstrapped",
  "login",
  "logout",
] as const;

// --- analytics ------------------------------------------------------------------------------

export interface UsageFigures {
  requests: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  /** exact decimal string, no currency */
  cost: string;
}

export interface ModelUsage extends UsageFigures {
  model: string;
}

export interface UserUsage extends UsageFigures {
  user_id: string;
  email: string | null;
  name: string | null;
}

export interface KeyUsage extends UsageFigures {
  key_id: string;
  name: string | null;
  prefix: string | null;
}

export interface OrgUsage extends UsageFigures {
  org_id: string;
  name: string | null;
}

export interface DailyUsage extends UsageFigures {
  day: string;
}

export interface UsagePeriod {
  from: string;
  to: string;
  days: number;
}

export interface BudgetStatus {
  period: string;
  limit: number | null;
  used: number;
  cost: string;
  remaining: number | null;
  percent: number | null;
}

export interface OrgUsagePublic {
  org_id: string;
  name: string;
  period: UsagePeriod;
  totals: UsageFigures;
  mine: UsageFigures;
  by_model: ModelUsage[];
  by_user: UserUsage[];
  daily: DailyUsage[];
  budget: BudgetStatus;
}

export interface MyUsagePublic {
  user_id: string;
  email: string;
  period: UsagePeriod;
  totals: UsageFigures;
  by_model: ModelUsage[];
  by_key: KeyUsage[];
  by_org: OrgUsage[];
  daily: DailyUsage[];
}

export interface SystemUsagePublic {
  period: UsagePeriod;
  totals: UsageFigures;
  by_org: OrgUsage[];
  by_model: ModelUsage[];
  daily: DailyUsage[];
}
