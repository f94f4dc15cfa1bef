{{/* Chart name, overridable. */}}
{{- define "hadron.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every object name: the release name, plus the chart name unless
the release name already holds it.
*/}}
{{- define "hadron.fullname" -}}
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

{{/* Labels of every object. */}}
{{- define "hadron.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "hadron.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component; call with (list $ "component"). */}}
{{- define "hadron.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "hadron.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Labels of one component's objects; call with (list $ "component"). */}}
{{- define "hadron.componentLabels" -}}
{{ include "hadron.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Image of a component; call with (list $ .Values.<component>.image). */}}
{{- define "hadron.image" -}}
{{- $ := index . 0 -}}
{{- $override := index . 1 -}}
{{- $repository := default $.Values.image.repository $override.repository -}}
{{- $tag := default (default $.Chart.AppVersion $.Values.image.tag) $override.tag -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end }}

{{/* Service account of the kubelet plugin. */}}
{{- define "hadron.kubeletPlugin.serviceAccountName" -}}
{{- default (printf "%s-kubelet-plugin" (include "hadron.fullname" .)) .Values.kubeletPlugin.serviceAccount.name }}
{{- end }}

{{/*
Fails the rendering when the reclaim values would make the plugin exit at
start: a clear message at install beats a crash-looping DaemonSet.
*/}}
{{- define "hadron.kubeletPlugin.checkReclaim" -}}
{{- $r := .Values.kubeletPlugin.reclaim -}}
{{- if not (regexMatch "^(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h))+$" (toString $r.interval)) -}}
{{- fail (printf "kubeletPlugin.reclaim.interval %q is not a Go duration such as 30s, 2m or 1h30m" (toString $r.interval)) -}}
{{- end -}}
{{- $busy := $r.gpuBusyPercent -}}
{{- if or (not (or (kindIs "float64" $busy) (kindIs "int64" $busy) (kindIs "int" $busy))) (ne (toString (int64 $busy)) (toString $busy)) (lt (int64 $busy) 1) (gt (int64 $busy) 100) -}}
{{- fail (printf "kubeletPlugin.reclaim.gpuBusyPercent %v is not a whole percentage from 1 to 100" $busy) -}}
{{- end -}}
{{- end }}

{{/* Service account of hadron-scheduler. */}}
{{- define "hadron.scheduler.serviceAccountName" -}}
{{- default (printf "%s-scheduler" (include "hadron.fullname" .)) .Values.scheduler.serviceAccount.name }}
{{- end }}

{{/* Namespace of the scheduler's leader-election Lease. */}}
{{- define "hadron.scheduler.leaseNamespace" -}}
{{- default .Release.Namespace .Values.scheduler.leaderElection.resourceNamespace }}
{{- end }}

{{/*
Adds the chart's labels to a manifest shipped in files/ and prints it; call
with (list $ "files/path.yaml"). The manifest's own content is kept as is,
so the installed object is the file of deploy/ it was copied from.
*/}}
{{- define "hadron.shippedManifest" -}}
{{- $ := index . 0 -}}
{{- $obj := $.Files.Get (index . 1) | fromYaml -}}
{{- $meta := $obj.metadata -}}
{{- $_ := set $meta "labels" (merge (default dict $meta.labels) (include "hadron.labels" $ | fromYaml)) -}}
{{- toYaml $obj }}
{{- end }}
