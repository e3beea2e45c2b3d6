{{/* Names, labels and the checks a JSON schema cannot express (they fail with one clear line). */}}

{{- define "pipeops-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pipeops-agent.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "pipeops-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pipeops-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pipeops-agent.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "pipeops-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "pipeops-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pipeops-agent.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "pipeops-agent.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key holding the control-plane token. */}}
{{- define "pipeops-agent.tokenSecretName" -}}
{{- default .Values.agent.state.secretName .Values.agent.pipeops.existingSecret -}}
{{- end -}}
{{- define "pipeops-agent.tokenSecretKey" -}}
{{- if .Values.agent.pipeops.existingSecret -}}{{ .Values.agent.pipeops.existingSecretKey }}{{- else -}}token{{- end -}}
{{- end -}}
{{- define "pipeops-agent.hasToken" -}}
{{- if or .Values.agent.pipeops.token .Values.agent.pipeops.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "pipeops-agent.usersSecretName" -}}
{{- default (printf "%s-dashboard-users" (include "pipeops-agent.fullname" .)) .Values.dashboard.existingUsersSecret -}}
{{- end -}}
{{- define "pipeops-agent.hasUsers" -}}
{{- if or .Values.dashboard.users .Values.dashboard.existingUsersSecret -}}true{{- end -}}
{{- end -}}
{{- define "pipeops-agent.authSecretName" -}}
{{- default (printf "%s-dashboard-auth" (include "pipeops-agent.fullname" .)) .Values.dashboard.existingAuthSecret -}}
{{- end -}}

{{/* Cross-field rules: rendered once from the Deployment so every install path runs them. */}}
{{- define "pipeops-agent.validate" -}}
{{- if eq .Values.image.tag "latest" -}}
{{- fail "image.tag \"latest\" is not allowed: pin a version (or leave it empty for the chart's appVersion)" -}}
{{- end -}}
{{- $p := .Values.agent.pipeops -}}
{{- if and $p.token $p.existingSecret -}}
{{- fail "agent.pipeops.token and agent.pipeops.existingSecret are both set: set only one (prefer existingSecret)" -}}
{{- end -}}
{{- if $p.apiUrl -}}
{{- if not .Values.agent.cluster.name -}}
{{- fail "agent.cluster.name is required when agent.pipeops.apiUrl is set (it names the cluster at registration)" -}}
{{- end -}}
{{- if not (include "pipeops-agent.hasToken" .) -}}
{{- fail "agent.pipeops.apiUrl is set but there is no token: set agent.pipeops.existingSecret (recommended) or agent.pipeops.token" -}}
{{- end -}}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.controlPlane.cidrs) -}}
{{- fail "networkPolicy.enabled needs networkPolicy.controlPlane.cidrs: the agent's only egress besides DNS and the API server is the control plane" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.networkPolicy.enabled (not .Values.networkPolicy.apiServer.cidrs) -}}
{{- fail "networkPolicy.enabled needs networkPolicy.apiServer.cidrs (the API server endpoint addresses: kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes)" -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.agent.leaderElection.enabled) -}}
{{- fail (printf "replicaCount is %d but agent.leaderElection.enabled is false: more than one active agent would register and scale concurrently; enable leader election or use 1 replica" (int .Values.replicaCount)) -}}
{{- end -}}
{{- if and .Values.dashboard.users .Values.dashboard.existingUsersSecret -}}
{{- fail "dashboard.users and dashboard.existingUsersSecret are both set: set only one" -}}
{{- end -}}
{{- if and .Values.podDisruptionBudget.enabled (lt (int .Values.replicaCount) 2) -}}
{{- fail "podDisruptionBudget.enabled needs replicaCount >= 2: with one pod a budget either blocks node drains or protects nothing" -}}
{{- end -}}
{{- end -}}
