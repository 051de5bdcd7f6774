{{/* Names ------------------------------------------------------------------------------ */}}
{{- define "ias.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels: every pod carries app.kubernetes.io/component, which the NetworkPolicies select */}}
{{- define "ias.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ias.labels" -}}
{{ include "ias.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "ias.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "ias.portalImage" -}}
{{ .Values.portal.image.repository }}:{{ .Values.portal.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "ias.natsUrl" -}}
nats://{{ include "ias.fullname" . }}-nats:4222
{{- end -}}

{{- define "ias.serveService" -}}
{{ include "ias.fullname" . }}-serve-svc
{{- end -}}

{{/* Container security: non-root, no privilege escalation, no capabilities */}}
{{- define "ias.containerSecurity" -}}
allowPrivilegeEscalation: false
capabilities: {drop: [ALL]}
runAsNonRoot: true
seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{/* Environment per component: each gets only the DSNs it uses (least privilege) -------- */}}
{{- define "ias.env.common" -}}
- {name: IAS_LOG_LEVEL, value: {{ .root.Values.config.logLevel | quote }}}
- {name: IAS_PORTAL_URL, value: {{ .root.Values.publicUrl | quote }}}
- {name: IAS_SESSION_COOKIE_SECURE, value: "true"}
- {name: IAS_CLIENT_ADDRESS_HEADER, value: X-Forwarded-For}
- {name: HF_HUB_DISABLE_TELEMETRY, value: "1"}
- {name: RAY_USAGE_STATS_ENABLED, value: "0"}
- {name: OTEL_SERVICE_NAME, value: {{ printf "ias-%s" .component | quote }}}
{{- if .root.Values.otel.collector.enabled }}
- {name: OTEL_EXPORTER_OTLP_ENDPOINT, value: {{ printf "http://%s-otel-collector:4318" (include "ias.fullname" .root) | quote }}}
{{- end }}
{{- with .root.Values.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ias.env.database" -}}
- name: IAS_DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ .Values.secrets.database.name }}, key: {{ .Values.secrets.database.key }}}}
{{- end -}}

{{- define "ias.env.redis" -}}
- name: IAS_REDIS_URL
  valueFrom: {secretKeyRef: {name: {{ .Values.secrets.redis.name }}, key: {{ .Values.secrets.redis.key }}}}
{{- end -}}

{{- define "ias.env.clickhouse" -}}
- name: IAS_CLICKHOUSE_URL
  valueFrom: {secretKeyRef: {name: {{ .Values.secrets.clickhouse.name }}, key: {{ .Values.secrets.clickhouse.key }}}}
{{- end -}}

{{- define "ias.env.nats" -}}
- {name: IAS_NATS_URL, value: {{ include "ias.natsUrl" . | quote }}}
{{- end -}}

{{- define "ias.env.smtp" -}}
{{- if .Values.config.smtpHost }}
- {name: IAS_SMTP_HOST, value: {{ .Values.config.smtpHost | quote }}}
- {name: IAS_SMTP_PORT, value: {{ .Values.config.smtpPort | quote }}}
- {name: IAS_SMTP_USER, value: {{ .Values.config.smtpUser | quote }}}
- {name: IAS_SMTP_FROM, value: {{ .Values.config.smtpFrom | quote }}}
- name: IAS_SMTP_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ .Values.secrets.smtp.name }}, key: {{ .Values.secrets.smtp.key }}, optional: true}}
{{- end }}
{{- end -}}

{{/* Ray probes (what KubeRay itself would inject; spelled out so they are reviewed and tuned) */}}
{{- define "ias.ray.headProbes" -}}
readinessProbe:
  exec: {command: [bash, -c, "wget -T 2 -q -O- http://localhost:52365/api/local_raylet_healthz | grep success && wget -T 2 -q -O- http://localhost:8265/api/gcs_healthz | grep success"]}
  initialDelaySeconds: 10
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 10
livenessProbe:
  exec: {command: [bash, -c, "wget -T 2 -q -O- http://localhost:52365/api/local_raylet_healthz | grep success && wget -T 2 -q -O- http://localhost:8265/api/gcs_healthz | grep success"]}
  initialDelaySeconds: 30
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 120
{{- end -}}

{{- define "ias.ray.workerProbes" -}}
readinessProbe:
  exec: {command: [bash, -c, "wget -T 2 -q -O- http://localhost:52365/api/local_raylet_healthz | grep success"]}
  initialDelaySeconds: 10
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 10
livenessProbe:
  exec: {command: [bash, -c, "wget -T 2 -q -O- http://localhost:52365/api/local_raylet_healthz | grep success"]}
  initialDelaySeconds: 30
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 120
{{- end -}}

{{/* NetworkPolicy peer: the pods of one component of this release (a flow mapping) */}}
{{- define "ias.np.selector" -}}
{matchLabels: {app.kubernetes.io/instance: {{ .root.Release.Name }}, app.kubernetes.io/component: {{ .component }}}}
{{- end -}}
