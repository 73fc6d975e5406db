{{/*
The full name every object starts with: fullnameOverride, else the release name when it already
contains the chart name, else <release>-<chart>. Cut to 50 characters so that
<fullname>-notification stays a 63-character DNS label.
*/}}
{{- define "microshop.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The services the release runs, in the order they are rendered: a YAML list, read with
`include "microshop.services" . | fromYamlArray`. Their values live under .Values.services.<name>.
The payment service runs while the shop has a card provider (microshop.payments); the
notification service always (without a mail server it logs what it would send); the gateway, the
shop's front door, always (no database, no broker).
*/}}
{{- define "microshop.services" -}}
- user
- product
- order
{{- if include "microshop.payments" . }}
- payment
{{- end }}
- notification
- gateway
{{- end -}}

{{/*
Every workload of the release: the services, then the payment sandbox when enabled (its values
live under .Values.paymentSandbox; one pod, no HPA, no PDB, no database). Read like
microshop.services.
*/}}
{{- define "microshop.workloads" -}}
{{ include "microshop.services" . }}
{{- if .Values.paymentSandbox.enabled }}
- payment-sandbox
{{- end }}
{{- end -}}

{{/* The values of workload .name: .Values.services.<name>, or .Values.paymentSandbox. */}}
{{- define "microshop.workloadValues" -}}
{{- if eq .name "payment-sandbox" -}}
{{- toYaml .root.Values.paymentSandbox -}}
{{- else -}}
{{- toYaml (index .root.Values.services .name) -}}
{{- end -}}
{{- end -}}

{{/*
"true" when the shop has a card provider: the payment sandbox (paymentSandbox.enabled) or a real
one (paymentProvider.url); empty otherwise (no payment service: orders cannot be paid). Both at
once is refused: while the sandbox is enabled it is the provider.
*/}}
{{- define "microshop.payments" -}}
{{- if and .Values.paymentSandbox.enabled .Values.paymentProvider.url -}}
{{- fail "paymentProvider.url and paymentSandbox.enabled exclude each other: while the sandbox is enabled it is the card provider" -}}
{{- end -}}
{{- if or .Values.paymentSandbox.enabled .Values.paymentProvider.url -}}
true
{{- end -}}
{{- end -}}

{{/* PROVIDER_URL of the payment service: the sandbox's Service, or paymentProvider.url. */}}
{{- define "microshop.providerUrl" -}}
{{- if .Values.paymentSandbox.enabled -}}
{{- printf "http://%s:%d" (include "microshop.componentName" (dict "root" . "name" "payment-sandbox")) (int .Values.paymentSandbox.port) -}}
{{- else -}}
{{- .Values.paymentProvider.url -}}
{{- end -}}
{{- end -}}

{{/* The Secret with the card provider's keys (api-key, webhook-secret). */}}
{{- define "microshop.paymentProviderSecret" -}}
{{- .Values.paymentProvider.existingSecret | default (printf "%s-payment-provider" (include "microshop.fullname" .)) -}}
{{- end -}}

{{/* Whether workload .name has a database of its own (every service; not the sandbox, not the gateway). */}}
{{- define "microshop.hasDatabase" -}}
{{- if not (has .name (list "payment-sandbox" "gateway")) -}}
true
{{- end -}}
{{- end -}}

{{/*
Whether workload .name talks to RabbitMQ (every service, through its outbox; not the sandbox, not
the gateway).
*/}}
{{- define "microshop.usesAmqp" -}}
{{- include "microshop.hasDatabase" . -}}
{{- end -}}

{{/*
Whether workload .name uses Redis (redis.existingSecret set): the user service counts failed
log-ins there, the product service keeps its read cache, the order service the carts, the gateway
its rate limits.
*/}}
{{- define "microshop.usesRedis" -}}
{{- if and (has .name (list "user" "product" "order" "gateway")) .root.Values.redis.existingSecret -}}
true
{{- end -}}
{{- end -}}

{{/*
Name of the Deployment, Service, HPA, PDB and NetworkPolicy of workload .name. The sandbox's
"-payment-sandbox" is longer than the 8 characters the full name leaves room for: a full name
that would make it longer than a DNS label is refused.
*/}}
{{- define "microshop.componentName" -}}
{{- $name := printf "%s-%s" (include "microshop.fullname" .root) .name -}}
{{- if gt (len $name) 63 -}}
{{- fail (printf "%s is longer than 63 characters: set a shorter fullnameOverride (at most 47 characters with the payment sandbox)" $name) -}}
{{- end -}}
{{- $name -}}
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

{{/* The binary of workload .name in the image: <name>-service, or payment-sandbox, or gateway. */}}
{{- define "microshop.binary" -}}
{{- if has .name (list "payment-sandbox" "gateway") -}}
{{- .name -}}
{{- else -}}
{{- printf "%s-service" .name -}}
{{- end -}}
{{- end -}}

{{/* Labels of the objects of workload .name (dict "root" $ "name" "user"). */}}
{{- define "microshop.labels" -}}
{{ include "microshop.commonLabels" .root }}
app.kubernetes.io/name: {{ include "microshop.binary" . }}
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

{{/* The Secret with one key per calling service (keys "order-service", "payment-service"). */}}
{{- define "microshop.serviceKeysSecret" -}}
{{- .Values.auth.serviceKeysSecret | default (printf "%s-service-keys" (include "microshop.fullname" .)) -}}
{{- end -}}

{{/* The Secret with the gateway's STOREFRONT_SECRET (the key signing the storefront's CSRF tokens). */}}
{{- define "microshop.storefrontSecret" -}}
{{- .Values.gateway.storefrontSecret.existingSecret | default (printf "%s-storefront" (include "microshop.fullname" .)) -}}
{{- end -}}

{{/* The base URL of workload .name's Service inside the namespace: http://<fullname>-<name>:<port>. */}}
{{- define "microshop.url" -}}
{{- printf "http://%s:%d" (include "microshop.componentName" .) (int (include "microshop.workloadValues" . | fromYaml).port) -}}
{{- end -}}

{{/*
SHOP_URL, the shop's public base URL as buyers' browsers reach it (the notification service's
mails link there, the payment service sends buyers back there): shopUrl; else the deprecated
notifications.shopUrl; else https://<ingress.host> (http:// without ingress.tls.secretName) while
the Ingress is on; else http://localhost:<gateway port>, what
`kubectl port-forward svc/<fullname>-gateway 8000:8000` serves.
*/}}
{{- define "microshop.shopUrl" -}}
{{- if .Values.shopUrl -}}
{{- .Values.shopUrl -}}
{{- else if .Values.notifications.shopUrl -}}
{{- .Values.notifications.shopUrl -}}
{{- else if .Values.ingress.enabled -}}
{{- printf "%s://%s" (.Values.ingress.tls.secretName | empty | ternary "http" "https") (required "ingress.host is required while ingress.enabled" .Values.ingress.host) -}}
{{- else -}}
{{- printf "http://localhost:%d" (int .Values.services.gateway.port) -}}
{{- end -}}
{{- end -}}

{{/*
The Secret with the notification service's SMTP_URL and optional MAIL_FROM (smtp.secretRef.name);
empty without a mail server (MAIL_TRANSPORT=log).
*/}}
{{- define "microshop.smtpSecret" -}}
{{- .Values.smtp.secretRef.name -}}
{{- end -}}

{{/*
The Secret with SMS_WEBHOOK_SECRET, which signs the SMS webhook's deliveries; required with
notifications.sms.webhookUrl.
*/}}
{{- define "microshop.smsWebhookSecret" -}}
{{- required "notifications.sms.secretRef.name: the Secret with SMS_WEBHOOK_SECRET is required with notifications.sms.webhookUrl" .Values.notifications.sms.secretRef.name -}}
{{- end -}}

{{/* The image reference. */}}
{{- define "microshop.image" -}}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- end -}}
