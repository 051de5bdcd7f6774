/** One function per endpoint the portal uses (paths as in README "Management API" / "Analytics API"). */
import { api, request } from "./client";
import type {
  AuditEntryPublic,
  BudgetAlertsPublic,
  BudgetAlertsUpdated,
  BudgetAlertsWrite,
  BudgetPublic,
  InviteInfo,
  InvitePublic,
  InviteSent,
  KeyCreate,
  KeyCreatedPublic,
  KeyPublic,
  KeyRateLimitsPublic,
  KeyStatus,
  MePublic,
  MemberPublic,
  MemberRemoved,
  ModelPublic,
  ModelWrite,
  MyUsagePublic,
  OrgDeleted,
  OrgPublic,
  OrgRateLimitsPublic,
  OrgRole,
  OrgUsagePublic,
  Page,
  PasswordChanged,
  RateLimitValues,
  SessionPublic,
  Status,
  SystemUsagePublic,
} from "./types";

const e = encodeURIComponent;

// --- auth ---------------------------------------------------------------------------------
export const login = (email: string, password: string) =>
  request<SessionPublic>("POST", "/api/auth/login", { body: { email, password }, quiet401: true });
export const logout = () => request<void>("POST", "/api/auth/logout", { quiet401: true });
export const getMe = (signal?: AbortSignal) => request<MePublic>("GET", "/api/auth/me", { signal, quiet401: true });
export const changePassword = (current_password: string, new_password: string) =>
  api.post<PasswordChanged>("/api/auth/password", { current_password, new_password });

// --- invites (public) -----------------------------------------------------------------------
export const getInvite = (token: string, signal?: AbortSignal) =>
  request<InviteInfo>("GET", `/api/invite/${e(token)}`, { signal, quiet401: true });
export const acceptInvite = (token: string, body: { name?: string; password: string }) =>
  request<SessionPublic>("POST", `/api/invite/${e(token)}/accept`, { body, quiet401: true });

// --- organisations --------------------------------------------------------------------------
export const listOrgs = (
  q: { status?: Status | ""; name?: string; limit?: number; cursor?: string | null } = {},
  signal?: AbortSignal,
) => api.get<Page<OrgPublic>>("/api/org", q, signal);
export const getOrg = (orgId: string, signal?: AbortSignal) => api.get<OrgPublic>(`/api/org/${e(orgId)}`, undefined, signal);
export const createOrg = (name: string, monthly_token_limit?: string | null) =>
  api.post<OrgPublic>("/api/org", monthly_token_limit ? { name, monthly_token_limit } : { name });
export const updateOrg = (orgId: string, body: { name?: string; status?: Status }) =>
  api.patch<OrgPublic>(`/api/org/${e(orgId)}`, body);
export const deleteOrg = (orgId: string) => api.del<OrgDeleted>(`/api/org/${e(orgId)}`);

// --- members and invites --------------------------------------------------------------------
export const listMembers = (orgId: string, q: { limit?: number; offset?: number } = {}, signal?: AbortSignal) =>
  api.get<Page<MemberPublic>>(`/api/org/${e(orgId)}/user`, q, signal);
export const changeRole = (orgId: string, userId: string, role: OrgRole) =>
  api.patch<MemberPublic>(`/api/org/${e(orgId)}/user/${e(userId)}`, { role });
export const removeMember = (orgId: string, userId: string) =>
  api.del<MemberRemoved>(`/api/org/${e(orgId)}/user/${e(userId)}`);
export const inviteUser = (orgId: string, email: string, role: OrgRole) =>
  api.post<InviteSent>(`/api/org/${e(orgId)}/user`, { email, role });
export const listInvites = (orgId: string, signal?: AbortSignal) =>
  api.get<Page<InvitePublic>>(`/api/org/${e(orgId)}/invite`, undefined, signal);
export const revokeInvite = (orgId: string, inviteId: string) =>
  api.del<void>(`/api/org/${e(orgId)}/invite/${e(inviteId)}`);
export const resendInvite = (orgId: string, inviteId: string) =>
  api.post<InviteSent>(`/api/org/${e(orgId)}/invite/${e(inviteId)}/resend`);

// --- keys -----------------------------------------------------------------------------------
export const listKeys = (
  orgId: string,
  q: { owner?: string; status?: KeyStatus | ""; limit?: number; cursor?: string | null } = {},
  signal?: AbortSignal,
) => api.get<Page<KeyPublic>>(`/api/org/${e(orgId)}/key`, q, signal);
export const createKey = (orgId: string, body: KeyCreate) =>
  api.post<KeyCreatedPublic>(`/api/org/${e(orgId)}/key`, body);
export const revokeKey = (orgId: string, keyId: string) => api.del<KeyPublic>(`/api/org/${e(orgId)}/key/${e(keyId)}`);

// --- budgets --------------------------------------------------------------------------------
export const getBudget = (orgId: string, signal?: AbortSignal) =>
  api.get<BudgetPublic>(`/api/org/${e(orgId)}/budget`, undefined, signal);
export const setBudget = (orgId: string, monthly_token_limit: string | null) =>
  api.put<BudgetPublic>(`/api/org/${e(orgId)}/budget`, { monthly_token_limit });

// --- rate limits ----------------------------------------------------------------------------
export const getOrgRateLimits = (orgId: string, signal?: AbortSignal) =>
  api.get<OrgRateLimitsPublic>(`/api/org/${e(orgId)}/rate-limits`, undefined, signal);
/** Every limit is sent (null = unlimited): the API reads a missing one as unlimited. */
export const setOrgRateLimits = (orgId: string, limits: RateLimitValues) =>
  api.put<OrgRateLimitsPublic>(`/api/org/${e(orgId)}/rate-limits`, limits);
export const setOrgRateLimitCeiling = (orgId: string, ceiling: RateLimitValues) =>
  api.put<OrgRateLimitsPublic>(`/api/org/${e(orgId)}/rate-limits/ceiling`, ceiling);
export const getKeyRateLimits = (orgId: string, keyId: string, signal?: AbortSignal) =>
  api.get<KeyRateLimitsPublic>(`/api/org/${e(orgId)}/key/${e(keyId)}/rate-limits`, undefined, signal);
export const setKeyRateLimits = (orgId: string, keyId: string, limits: RateLimitValues) =>
  api.put<KeyRateLimitsPublic>(`/api/org/${e(orgId)}/key/${e(keyId)}/rate-limits`, limits);

// --- budget alerts --------------------------------------------------------------------------
export const getBudgetAlerts = (orgId: string, signal?: AbortSignal) =>
  api.get<BudgetAlertsPublic>(`/api/org/${e(orgId)}/budget/alerts`, undefined, signal);
/** Both settings are sent; the answer carries `webhook_secret` only when one was just generated. */
export const setBudgetAlerts = (orgId: string, body: BudgetAlertsWrite) =>
  api.put<BudgetAlertsUpdated>(`/api/org/${e(orgId)}/budget/alerts`, body);

// --- model mappings -------------------------------------------------------------------------
export const listModels = (signal?: AbortSignal) => api.get<Page<ModelPublic>>("/api/model", undefined, signal);
export const createModel = (body: ModelWrite) => api.post<ModelPublic>("/api/model", body);
export const updateModel = (modelId: string, body: ModelWrite) => api.patch<ModelPublic>(`/api/model/${e(modelId)}`, body);
export const deleteModel = (modelId: string) => api.del<void>(`/api/model/${e(modelId)}`);

// --- audit ----------------------------------------------------------------------------------
export interface AuditQuery {
  action_type?: string;
  user_id?: string;
  since?: string;
  until?: string;
  org_id?: string;
  limit?: number;
  cursor?: string | null;
}
export const orgAuditLog = (orgId: string, q: AuditQuery, signal?: AbortSignal) =>
  api.get<Page<AuditEntryPublic>>(`/api/org/${e(orgId)}/audit_log`, { ...q, org_id: undefined }, signal);
export const globalAuditLog = (q: AuditQuery, signal?: AbortSignal) =>
  api.get<Page<AuditEntryPublic>>("/api/audit_log", { ...q }, signal);

// --- analytics ------------------------------------------------------------------------------
export const orgUsage = (orgId: string, days: number, signal?: AbortSignal) =>
  api.get<OrgUsagePublic>(`/analytics/org/${e(orgId)}`, { days }, signal);
export const myUsage = (days: number, signal?: AbortSignal) => api.get<MyUsagePublic>("/analytics/me", { days }, signal);
export const systemUsage = (days: number, signal?: AbortSignal) =>
  api.get<SystemUsagePublic>("/analytics/system", { days }, signal);
