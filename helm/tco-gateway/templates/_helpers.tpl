{{/*
The chart name, overridable with nameOverride.
*/}}
{{- define "tco-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full resource name: fullnameOverride, else "<release>" when it already
contains the chart name, else "<release>-<chart>"; 63 characters at most.
*/}}
{{- define "tco-gateway.fullname" -}}
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
"name-version" for the helm.sh/chart label.
*/}}
{{- define "tco-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every resource.
*/}}
{{- define "tco-gateway.labels" -}}
helm.sh/chart: {{ include "tco-gateway.chart" . }}
{{ include "tco-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ include "tco-gateway.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: grpc-gateway
app.kubernetes.io/part-of: tco-gateway
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels: stable across upgrades (a Deployment's selector is immutable).
*/}}
{{- define "tco-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tco-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount to run as.
*/}}
{{- define "tco-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tco-gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The image tag: image.tag, else the chart's appVersion.
*/}}
{{- define "tco-gateway.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/*
The image reference: repository@digest when a digest is given, else repository:tag.
*/}}
{{- define "tco-gateway.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "tco-gateway.imageTag" .) }}
{{- end }}
{{- end }}

{{/*
The Secret holding the credentials: existingSecret.name, else the chart's own.
*/}}
{{- define "tco-gateway.secretName" -}}
{{- default (include "tco-gateway.fullname" .) .Values.credentials.existingSecret.name }}
{{- end }}

{{/*
Credential wiring: a list of {env, key} for every credential the pod gets,
as JSON (include returns a string). With existingSecret every key that is
named; otherwise every value that is set (its key in the chart's Secret).
*/}}
{{- define "tco-gateway.credentialRefs" -}}
{{- $c := .Values.credentials }}
{{- $refs := list }}
{{- if $c.existingSecret.name }}
{{- $k := $c.existingSecret.keys }}
{{- if $k.adminApiUsername }}{{ $refs = append $refs (dict "env" "TCO_ADMIN_API__USERNAME" "key" $k.adminApiUsername) }}{{ end }}
{{- if $k.adminApiPassword }}{{ $refs = append $refs (dict "env" "TCO_ADMIN_API__PASSWORD" "key" $k.adminApiPassword) }}{{ end }}
{{- if $k.paymentApiSellerId }}{{ $refs = append $refs (dict "env" "TCO_PAYMENT_API__SELLER_ID" "key" $k.paymentApiSellerId) }}{{ end }}
{{- if $k.paymentApiPrivateKey }}{{ $refs = append $refs (dict "env" "TCO_PAYMENT_API__PRIVATE_KEY" "key" $k.paymentApiPrivateKey) }}{{ end }}
{{- else }}
{{- if $c.adminApi.username }}{{ $refs = append $refs (dict "env" "TCO_ADMIN_API__USERNAME" "key" "admin-api-username") }}{{ end }}
{{- if $c.adminApi.password }}{{ $refs = append $refs (dict "env" "TCO_ADMIN_API__PASSWORD" "key" "admin-api-password") }}{{ end }}
{{- if $c.paymentApi.sellerId }}{{ $refs = append $refs (dict "env" "TCO_PAYMENT_API__SELLER_ID" "key" "payment-api-seller-id") }}{{ end }}
{{- if $c.paymentApi.privateKey }}{{ $refs = append $refs (dict "env" "TCO_PAYMENT_API__PRIVATE_KEY" "key" "payment-api-private-key") }}{{ end }}
{{- end }}
{{- toJson $refs }}
{{- end }}

{{/*
Refuses half-configured credentials: the gateway needs both halves of a
pair or neither, and would otherwise fail at start.
*/}}
{{- define "tco-gateway.validateCredentials" -}}
{{- $c := .Values.credentials }}
{{- if $c.existingSecret.name }}
{{- if or $c.adminApi.username $c.adminApi.password $c.paymentApi.sellerId $c.paymentApi.privateKey }}
{{- fail "credentials: existingSecret.name is set, so the credential values would be ignored: use one or the other" }}
{{- end }}
{{- $k := $c.existingSecret.keys }}
{{- if ne (empty $k.adminApiUsername) (empty $k.adminApiPassword) }}
{{- fail "credentials.existingSecret.keys: set both adminApiUsername and adminApiPassword" }}
{{- end }}
{{- if ne (empty $k.paymentApiSellerId) (empty $k.paymentApiPrivateKey) }}
{{- fail "credentials.existingSecret.keys: set both paymentApiSellerId and paymentApiPrivateKey, or neither" }}
{{- end }}
{{- else }}
{{- if ne (empty $c.adminApi.username) (empty $c.adminApi.password) }}
{{- fail "credentials.adminApi: set both username and password" }}
{{- end }}
{{- if ne (empty $c.paymentApi.sellerId) (empty $c.paymentApi.privateKey) }}
{{- fail "credentials.paymentApi: set both sellerId and privateKey, or neither" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"true" when no Admin API credentials are wired: with TCO_UPSTREAM__MODE=twocheckout
the gateway then refuses to start.
*/}}
{{- define "tco-gateway.adminApiMissing" -}}
{{- $c := .Values.credentials }}
{{- if $c.existingSecret.name }}
{{- if not $c.existingSecret.keys.adminApiUsername }}true{{ end }}
{{- else }}
{{- if not $c.adminApi.username }}true{{ end }}
{{- end }}
{{- end }}

{{/*
"true" when the Payment API is configured (AuthorizationService/Authorize works).
*/}}
{{- define "tco-gateway.paymentConfigured" -}}
{{- $c := .Values.credentials }}
{{- if $c.existingSecret.name }}
{{- if $c.existingSecret.keys.paymentApiSellerId }}true{{ end }}
{{- else }}
{{- if $c.paymentApi.sellerId }}true{{ end }}
{{- end }}
{{- end }}

{{/*
terminationGracePeriodSeconds: drain + shutdown timeout + margin, so the
kubelet's SIGKILL never lands while the gateway is still draining.
*/}}
{{- define "tco-gateway.terminationGracePeriodSeconds" -}}
{{- $s := .Values.shutdown }}
{{- add (int $s.drainPeriodSeconds) (int $s.timeoutSeconds) (int $s.graceMarginSeconds) }}
{{- end }}

{{/*
Where TCO_REDIS__URL comes from, as JSON {name, key}: redis.existingSecret,
else the chart's own Secret (key redis-url) when redis.url is set; "" without Redis.
*/}}
{{- define "tco-gateway.redisRef" -}}
{{- $r := .Values.redis }}
{{- if $r.existingSecret.name }}
{{- toJson (dict "name" $r.existingSecret.name "key" $r.existingSecret.key) }}
{{- else if $r.url }}
{{- toJson (dict "name" (include "tco-gateway.fullname" .) "key" "redis-url") }}
{{- end }}
{{- end }}

{{/*
"true" when several pods may run without the Redis they should share
(allowPerReplicaState: true; the schema refuses it otherwise).
*/}}
{{- define "tco-gateway.perReplicaState" -}}
{{- if and (not (include "tco-gateway.redisRef" .)) (or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1)) }}true{{ end }}
{{- end }}

{{/*
The kubernetes.io/tls Secret the server certificate comes from: tls.secretName,
else "<fullname>-tls" (where the cert-manager Certificate writes it).
*/}}
{{- define "tco-gateway.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "tco-gateway.fullname" .)) .Values.tls.secretName }}
{{- end }}

{{/*
Where the files the gateway re-reads are mounted (read-only volumes, never
subPath, so a rotated Secret or an edited ConfigMap reaches the running pod).
*/}}
{{- define "tco-gateway.tlsDir" -}}/etc/tco-gateway/tls{{- end }}
{{- define "tco-gateway.clientCaDir" -}}/etc/tco-gateway/client-ca{{- end }}
{{- define "tco-gateway.policyDir" -}}/etc/tco-gateway/policy{{- end }}
{{- define "tco-gateway.jwksDir" -}}/etc/tco-gateway/jwks{{- end }}

{{/*
The client CA file the gateway reads, or "" without mTLS (or without TLS).
*/}}
{{- define "tco-gateway.clientCaFile" -}}
{{- $ca := .Values.tls.clientCa }}
{{- if and .Values.tls.enabled $ca.enabled }}
{{- if eq $ca.source "tlsSecret" }}
{{- printf "%s/ca.crt" (include "tco-gateway.tlsDir" .) }}
{{- else }}
{{- printf "%s/ca.crt" (include "tco-gateway.clientCaDir" .) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The ConfigMap holding the policy, as JSON {name, key}: auth.policy.existingConfigMap,
else the chart's own "<fullname>-policy" (key policy.toml).
*/}}
{{- define "tco-gateway.policyRef" -}}
{{- $p := .Values.auth.policy }}
{{- if $p.existingConfigMap.name }}
{{- toJson (dict "name" $p.existingConfigMap.name "key" $p.existingConfigMap.key) }}
{{- else }}
{{- toJson (dict "name" (printf "%s-policy" (include "tco-gateway.fullname" .)) "key" "policy.toml") }}
{{- end }}
{{- end }}

{{/*
The JWKS volume source, as JSON {kind: secret|configMap, name, key}; "" without bearer tokens.
*/}}
{{- define "tco-gateway.jwksRef" -}}
{{- $j := .Values.auth.jwks }}
{{- if $j.existingSecret.name }}
{{- toJson (dict "kind" "secret" "name" $j.existingSecret.name "key" $j.existingSecret.key) }}
{{- else if $j.existingConfigMap.name }}
{{- toJson (dict "kind" "configMap" "name" $j.existingConfigMap.name "key" $j.existingConfigMap.key) }}
{{- end }}
{{- end }}

{{/*
Refuses TLS and auth settings the gateway could not use safely: plaintext
without saying so, a Certificate with no issuer, half-named sources.
*/}}
{{- define "tco-gateway.validateSecurity" -}}
{{- $t := .Values.tls }}
{{- if and (not $t.enabled) (not .Values.insecure) }}
{{- fail "tls.enabled is false but insecure is not true: the gateway would serve refunds in plaintext to the network. Enable TLS (tls.enabled: true, the default) or set insecure: true explicitly" }}
{{- end }}
{{- if and $t.enabled (not .Values.podSecurityContext.fsGroup) }}
{{- fail "podSecurityContext.fsGroup is unset: the TLS key is mounted with mode 0440 for that group, so the gateway could not read it (the default is 10001)" }}
{{- end }}
{{- if $t.certManager.enabled }}
{{- if not $t.enabled }}
{{- fail "tls.certManager.enabled needs tls.enabled: true (the Certificate would write a Secret nothing uses)" }}
{{- end }}
{{- if not $t.certManager.issuerRef.name }}
{{- fail "tls.certManager.enabled: set tls.certManager.issuerRef.name (the Issuer or ClusterIssuer that signs the server certificate)" }}
{{- end }}
{{- end }}
{{- if and $t.enabled $t.clientCa.enabled (ne $t.clientCa.source "tlsSecret") (not $t.clientCa.name) }}
{{- fail (printf "tls.clientCa.source is %s: set tls.clientCa.name (the %s holding the CA bundle)" $t.clientCa.source $t.clientCa.source) }}
{{- end }}
{{- if or (eq (int .Values.health.port) (int .Values.containerPort)) (and .Values.metrics.enabled (eq (int .Values.health.port) (int .Values.metrics.port))) }}
{{- fail "health.port must differ from containerPort and metrics.port (the health listener is a plaintext port of its own)" }}
{{- end }}
{{- $a := .Values.auth }}
{{- if and $a.policy.callers $a.policy.existingConfigMap.name }}
{{- fail "auth.policy: callers and existingConfigMap.name are both set: use one or the other" }}
{{- end }}
{{- if and $a.jwks.existingSecret.name $a.jwks.existingConfigMap.name }}
{{- fail "auth.jwks: existingSecret.name and existingConfigMap.name are both set: use one or the other" }}
{{- end }}
{{- if and (include "tco-gateway.jwksRef" .) (not $a.issuer) }}
{{- fail "auth.jwks is set: set auth.issuer too (the iss every bearer token must carry)" }}
{{- end }}
{{- end }}

{{/*
Where TCO_INS__SECRET_WORD comes from, as JSON {name, key}: ins.existingSecret,
else the chart's own Secret (key ins-secret-word) when ins.secretWord is set;
"" when INS is off or no secret word is given (validateIns refuses the latter).
*/}}
{{- define "tco-gateway.insSecretRef" -}}
{{- $i := .Values.ins }}
{{- if $i.enabled }}
{{- if $i.existingSecret.name }}
{{- toJson (dict "name" $i.existingSecret.name "key" $i.existingSecret.key) }}
{{- else if $i.secretWord }}
{{- toJson (dict "name" (include "tco-gateway.fullname" .) "key" "ins-secret-word") }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Refuses an INS receiver that could not verify a single notification (no
secret word, no vendor id), a port another listener has, and an Ingress
with nothing behind it.
*/}}
{{- define "tco-gateway.validateIns" -}}
{{- $i := .Values.ins }}
{{- if $i.enabled }}
{{- if and $i.secretWord $i.existingSecret.name }}
{{- fail "ins: secretWord and existingSecret.name are both set: use one or the other" }}
{{- end }}
{{- if not (include "tco-gateway.insSecretRef" .) }}
{{- fail "ins.enabled: set ins.secretWord or ins.existingSecret.name (the INS secret word of the 2Checkout account): without it no notification can be verified" }}
{{- end }}
{{- if and (not $i.vendorId) (not (include "tco-gateway.paymentConfigured" .)) }}
{{- fail "ins.enabled: set ins.vendorId (the 2Checkout account number), or the Payment API seller id it defaults to" }}
{{- end }}
{{- $p := int $i.port }}
{{- if or (eq $p (int .Values.containerPort)) (eq $p (int .Values.health.port)) (and .Values.metrics.enabled (eq $p (int .Values.metrics.port))) }}
{{- fail "ins.port must differ from containerPort, health.port and metrics.port (the INS receiver is a plaintext HTTP listener of its own)" }}
{{- end }}
{{- else if $i.ingress.enabled }}
{{- fail "ins.ingress.enabled needs ins.enabled: true (the Ingress would route to a Service that does not exist)" }}
{{- end }}
{{- end }}

{{/*
The INS Service and Ingress: "<fullname>-ins", the full name cut so the whole
stays a valid Service name (63 characters at most).
*/}}
{{- define "tco-gateway.insName" -}}
{{- printf "%s-ins" (include "tco-gateway.fullname" . | trunc 59 | trimSuffix "-") }}
{{- end }}
