{{/*
Chart name, truncated to 63 characters (a DNS label).
*/}}
{{- define "microshop-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: fullnameOverride, else the release name if it contains the chart name, else
<release>-<chart>; truncated to 63 characters.
*/}}
{{- define "microshop-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "microshop-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every resource.
*/}}
{{- define "microshop-operator.labels" -}}
helm.sh/chart: {{ include "microshop-operator.chart" . }}
{{ include "microshop-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: microshop
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels (immutable in a Deployment's selector: keep them stable).
*/}}
{{- define "microshop-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "microshop-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the ServiceAccount.
*/}}
{{- define "microshop-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "microshop-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference.
*/}}
{{- define "microshop-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end }}

{{/*
One NetworkPolicy egress rule, as a one-item YAML list, from {to: [peers], ports: [ports]}. An
empty `to` is left out (any destination), as is an empty `ports` (any port).
*/}}
{{- define "microshop-operator.egressRule" -}}
{{- $rule := dict }}
{{- with .to }}{{ $_ := set $rule "to" . }}{{ end }}
{{- with .ports }}{{ $_ := set $rule "ports" . }}{{ end }}
{{- list $rule | toYaml }}
{{- end }}
