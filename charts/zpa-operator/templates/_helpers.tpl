{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "zpa-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name prefix of every resource: fullnameOverride, else the release name
when it already contains the chart name, else "<release>-<chart>".
*/}}
{{- define "zpa-operator.fullname" -}}
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

{{/* "<chart>-<version>" for the helm.sh/chart label. */}}
{{- define "zpa-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the operator pods; never change them across upgrades. */}}
{{- define "zpa-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zpa-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every resource the chart renders (CRDs excepted). */}}
{{- define "zpa-operator.labels" -}}
helm.sh/chart: {{ include "zpa-operator.chart" . }}
{{ include "zpa-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: zpa-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "zpa-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "zpa-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
"repository:tag" or "repository@digest"; the tag defaults to appVersion. The
chart in this folder has no default repository (the released chart has its
release's image, set by release/chart.sh): an empty one fails the render
with what to do.
*/}}
{{- define "zpa-operator.image" -}}
{{- $repository := required "image.repository is required: install the released chart (oci://ghcr.io/<owner>/charts/zpa-operator, which names its image), or build and push an image with release/image.sh (see the README, Releases) and install with --set image.repository=REGISTRY/zpa-operator" .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
providerConfig.customerId as a string of digits, whichever way it came in:
a string (--set-string, a quoted YAML value), an int64 (--set parses digit
strings that fit in int64 as integers), or a float64 (a bare number in a
values file: YAML numbers are read as floats, exact only up to 2^53). Floats
above 2^53 may already have lost digits: refused with how to write it.
*/}}
{{- define "zpa-operator.customerId" -}}
{{- $id := required "providerConfig.customerId is required when providerConfig.create is true" .Values.providerConfig.customerId }}
{{- if kindIs "string" $id }}
{{- $id }}
{{- else if or (kindIs "int64" $id) (kindIs "int" $id) }}
{{- printf "%d" $id }}
{{- else if kindIs "float64" $id }}
{{- if gt $id 9007199254740992.0 }}
{{- fail (printf "providerConfig.customerId: the values file gives it as a bare number (%v), which YAML reads as a float and may have rounded; quote it: customerId: \"<digits>\"" $id) }}
{{- end }}
{{- printf "%.0f" $id }}
{{- else }}
{{- fail (printf "providerConfig.customerId must be digits, not %v" $id) }}
{{- end }}
{{- end }}

{{/* "true" when leader election is on: asked for, or forced by replicas > 1. */}}
{{- define "zpa-operator.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) }}true{{ end }}
{{- end }}

{{/* Name of the leader Lease. */}}
{{- define "zpa-operator.leaseName" -}}
{{- default (printf "%s-leader" (include "zpa-operator.fullname" .)) .Values.leaderElection.leaseName }}
{{- end }}

{{/* Namespaces where a namespace-scoped install may read credentials Secrets. */}}
{{- define "zpa-operator.credentialsSecretNamespaces" -}}
{{- if .Values.rbac.credentialsSecretNamespaces }}
{{- join "," (uniq .Values.rbac.credentialsSecretNamespaces) }}
{{- else }}
{{- .Release.Namespace }}
{{- end }}
{{- end }}

{{/*
RBAC rules for the namespaced kinds, the Secrets the operator reads and
writes (Microtenant admin credentials, by server-side apply), and Events.
The same list serves the ClusterRole (all namespaces) and the per-namespace
Roles (watchNamespaces).
*/}}
{{- define "zpa-operator.namespacedRules" -}}
- apiGroups: ["zpa.operator.dev"]
  resources: ["isolationprofiles", "microtenants"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["zpa.operator.dev"]
  resources: ["isolationprofiles/status", "microtenants/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["zpa.operator.dev"]
  resources: ["isolationprofiles/finalizers", "microtenants/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* RBAC rules for the cluster-scoped ZpaProviderConfig. */}}
{{- define "zpa-operator.providerConfigRules" -}}
- apiGroups: ["zpa.operator.dev"]
  resources: ["zpaproviderconfigs"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["zpa.operator.dev"]
  resources: ["zpaproviderconfigs/status"]
  verbs: ["get", "patch", "update"]
{{- end }}

{{/*
The CRDs of crd-sources/ (a symlink to the repository's crds/ directory),
byte for byte, each with `helm.sh/resource-policy: keep` inserted under its
top-level `metadata:`. Shared with the zpa-operator-crds chart (same text);
tests/chart_render.rs checks the identity.
*/}}
{{- define "zpa-operator.crds" -}}
{{- range $path, $_ := .Files.Glob "crd-sources/*.yaml" }}
{{ $.Files.Get $path | replace "\nmetadata:\n" "\nmetadata:\n  annotations:\n    helm.sh/resource-policy: keep\n" }}
{{- end }}
{{- end -}}
