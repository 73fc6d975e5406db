{{/*
The full name every object starts with: fullnameOverride, else the release name when it already
contains the chart name, else <release>-<chart>. Cut to 55 characters so that <fullname>-product
stays a 63-character DNS label.
*/}}
{{- define "microshop.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The three services, in the order they are rendered: a YAML list, read with
`include "microshop.services" . | fromYamlArray`. Their values live under .Values.services.<name>.
*/}}
{{- define "microshop.services" -}}
- user
- product
- order
{{- end -}}

{{/* Whether service .name talks to RabbitMQ (the user service does not). */}}
{{- define "microshop.usesAmqp" -}}
true
{{- end -}}

{{/* Name of the Deployment, Service, HPA, PDB and NetworkPolicy of service .name. */}}
{{- define "microshop.componentName" -}}
{{- printf "%s-%s" (include "microshop.fullname" .root) .name -}}
{{- end -}}

{{/* Labels of every object of the release. */}}
{{- define "microshop.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: microshop
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector of the pods of service .name of release .root. */}}
{{- define "microshop.selectorLabels" -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Labels of the objects of service .name (dict "root" $ "name" "user"). */}}
{{- define "microshop.labels" -}}
{{ include "microshop.commonLabels" .root }}
app.kubernetes.io/name: {{ .name }}-service
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Selector of all pods of the release. */}}
{{- define "microshop.releaseSelectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: microshop
{{- end -}}

{{/* The Secret with service .name's DATABASE_URL. */}}
{{- define "microshop.databaseSecret" -}}
{{- $db := (index .root.Values.services .name).database -}}
{{- $db.existingSecret | default (printf "%s-db" (include "microshop.componentName" .)) -}}
{{- end -}}

{{/* The Secret with AMQP_URL. */}}
{{- define "microshop.amqpSecret" -}}
{{- .Values.amqp.existingSecret | default (printf "%s-amqp" (include "microshop.fullname" .)) -}}
{{- end -}}

{{/* The Secret with the access-token keys. */}}
{{- define "microshop.jwtSecret" -}}
{{- .Values.auth.existingSecret | default (printf "%s-jwt" (include "microshop.fullname" .)) -}}
{{- end -}}

{{/* The Secret with the first admin's ADMIN_EMAIL and ADMIN_PASSWORD (optional). */}}
{{- define "microshop.adminSecret" -}}
{{- .Values.auth.adminSecret | default (printf "%s-admin" (include "microshop.fullname" .)) -}}
{{- end -}}

{{/* The Secret with one key per calling service (key "order-service"). */}}
{{- define "microshop.serviceKeysSecret" -}}
{{- .Values.auth.serviceKeysSecret | default (printf "%s-service-keys" (include "microshop.fullname" .)) -}}
{{- end -}}

{{/* The image reference. */}}
{{- define "microshop.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}
