{{/*
Names, labels and small building blocks shared by every template.
Everything that is spelled twice lives here so the objects cannot drift apart.
*/}}

{{/* Chart name, overridable. */}}
{{- define "microblog.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified app name: the prefix of every object name. Truncated to leave
room for the longest component suffix ("-projector", "-mongodb-headless")
within the 63-character DNS label limit.
*/}}
{{- define "microblog.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "microblog.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "microblog.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Standard labels on every object (no component). */}}
{{- define "microblog.labels" -}}
helm.sh/chart: {{ include "microblog.chart" . }}
app.kubernetes.io/name: {{ include "microblog.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: microblog
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
Selector labels of one component. Selectors are immutable, so they hold only
name, instance and component, never versions.
Usage: include "microblog.selectorLabels" (dict "ctx" $ "component" "command")
*/}}
{{- define "microblog.selectorLabels" -}}
app.kubernetes.io/name: {{ include "microblog.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of one component's objects. Same arguments as selectorLabels. */}}
{{- define "microblog.componentLabels" -}}
{{ include "microblog.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Object name of one component: <fullname>-<component>. */}}
{{- define "microblog.componentName" -}}
{{- printf "%s-%s" (include "microblog.fullname" .ctx) .component -}}
{{- end -}}

{{/* ServiceAccount of one component. */}}
{{- define "microblog.serviceAccountName" -}}
{{- if .ctx.Values.serviceAccount.create -}}
{{- include "microblog.componentName" . -}}
{{- else -}}
default
{{- end -}}
{{- end -}}

{{/* Name of the Secret with JWT_SECRET (and MONGODB_URI for an external database). */}}
{{- define "microblog.secretName" -}}
{{- default (include "microblog.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{- define "microblog.configMapName" -}}
{{- printf "%s-config" (include "microblog.fullname" .) -}}
{{- end -}}

{{/*
Image reference of an application image.
Usage: include "microblog.image" (dict "ctx" $ "image" $.Values.image.command)
registry/repository:tag, plus @digest when a digest is given (the tag then
only documents which release the digest belongs to).
*/}}
{{- define "microblog.image" -}}
{{- $registry := .ctx.Values.image.registry -}}
{{- $repo := .image.repository -}}
{{- if $registry -}}{{- $repo = printf "%s/%s" (trimSuffix "/" $registry) $repo -}}{{- end -}}
{{- $tag := default .ctx.Chart.AppVersion .ctx.Values.image.tag -}}
{{- if .image.digest -}}
{{- printf "%s:%s@%s" $repo $tag .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{- define "microblog.mongodb.image" -}}
{{- $img := .Values.mongodb.image -}}
{{- if $img.digest -}}
{{- printf "%s:%s@%s" $img.repository $img.tag $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository $img.tag -}}
{{- end -}}
{{- end -}}

{{/*
checkov skip annotations shared by every workload. Each carries its reason;
they are rendered only where the finding really applies.
Usage: include "microblog.checkovSkips" (dict "ctx" $ "digest" "<digest or empty>" "token" bool "envSecrets" bool "extra" (list "CKV_..=reason"))
*/}}
{{- define "microblog.checkovSkips" -}}
{{- $reasons := list -}}
{{- if not .digest -}}
{{- $reasons = append $reasons "CKV_K8S_43=Pinned by immutable tag; set image.*.digest for a digest" -}}
{{- $reasons = append $reasons "CKV_K8S_15=Immutable tags; Always breaks images built in Minikube" -}}
{{- end -}}
{{- if .envSecrets -}}
{{- $reasons = append $reasons "CKV_K8S_35=The app reads env vars only; values from a Secret" -}}
{{- end -}}
{{- if .token -}}
{{- $reasons = append $reasons "CKV_K8S_38=The projector uses its token for its Lease (Role: leases only)" -}}
{{- end -}}
{{- $reasons = concat $reasons (.extra | default list) -}}
{{- $annotations := dict -}}
{{- range $i, $r := $reasons -}}
{{- $_ := set $annotations (printf "checkov.io/skip%d" (add1 $i)) $r -}}
{{- end -}}
{{- toYaml $annotations -}}
{{- end -}}

{{/* Pod-level topology spread: values plus this component's selector. */}}
{{- define "microblog.topologySpread" -}}
{{- $sel := include "microblog.selectorLabels" . | fromYaml -}}
{{- $out := list -}}
{{- range .ctx.Values.topologySpreadConstraints -}}
{{- $defaults := dict "labelSelector" (dict "matchLabels" $sel) "matchLabelKeys" (list "pod-template-hash") -}}
{{- $out = append $out (merge (deepCopy .) $defaults) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
Host list of the bundled replica set, as the members know each other: fully
qualified (<pod>.<headless service>.<namespace>.svc.<cluster domain>), so a
name means the same from every pod whatever its DNS search path.
*/}}
{{- define "microblog.mongodb.hosts" -}}
{{- $full := include "microblog.fullname" . -}}
{{- $domain := printf "%s-mongodb-headless.%s.svc.%s" $full (include "microblog.namespace" .) .Values.clusterDomain -}}
{{- $hosts := list -}}
{{- range $i := until (int .Values.mongodb.replicaCount) -}}
{{- $hosts = append $hosts (printf "%s-mongodb-%d.%s:27017" $full $i $domain) -}}
{{- end -}}
{{- join "," $hosts -}}
{{- end -}}

{{/*
Databases of the bundled replica set the processes use, comma-separated: the
write model's (command service, projector's change stream) and, when
config.readModelDatabase names another one and readModels.uri does not move
the read models to another replica set, the read models' (query service,
projector). The app user gets readWrite on exactly these.
*/}}
{{- define "microblog.mongodb.appDatabases" -}}
{{- $dbs := list .Values.config.mongodbDatabase -}}
{{- with .Values.config.readModelDatabase -}}
{{- if not $.Values.readModels.uri -}}
{{- $dbs = append $dbs . -}}
{{- end -}}
{{- end -}}
{{- $dbs | uniq | join "," -}}
{{- end -}}

{{- define "microblog.mongodb.secretName" -}}
{{- default (printf "%s-mongodb" (include "microblog.fullname" .)) .Values.mongodb.auth.existingSecret -}}
{{- end -}}

{{/*
Environment of every application container: settings from the ConfigMap and
the Secret, then (bundled MongoDB only) the URI assembled from the app user's
password. Kubernetes expands $(MONGODB_APP_PASSWORD) when the container starts,
so the password never appears in the pod spec and the application Secret does
not need a copy of it.
Usage: include "microblog.env" (dict "ctx" $ "projector" bool "extraEnv" .Values.command.extraEnv)
The projector also gets POD_NAME and POD_NAMESPACE (downward API), the
identity of a Lease holder.
*/}}
{{- define "microblog.envFrom" -}}
- configMapRef:
    name: {{ include "microblog.configMapName" .ctx }}
- secretRef:
    name: {{ include "microblog.secretName" .ctx }}
{{- end -}}

{{/* The projector's Lease: one name, shared by the env and the Role. */}}
{{- define "microblog.projectorLeaseName" -}}
{{- include "microblog.componentName" (dict "ctx" . "component" "projector") -}}
{{- end -}}

{{- define "microblog.env" -}}
{{- $ctx := .ctx -}}
{{- $env := list -}}
{{- if .projector -}}
{{- $env = append $env (dict "name" "POD_NAME" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.name"))) -}}
{{- $env = append $env (dict "name" "POD_NAMESPACE" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.namespace"))) -}}
{{- with $ctx.Values.projector.leaderElection -}}
{{- if .enabled -}}
{{- $env = append $env (dict "name" "PROJECTOR_LEADER_ELECTION" "value" "kubernetes") -}}
{{- $env = append $env (dict "name" "PROJECTOR_LEASE_NAME" "value" (include "microblog.projectorLeaseName" $ctx)) -}}
{{- $env = append $env (dict "name" "PROJECTOR_LEASE_SECONDS" "value" (toString .leaseSeconds)) -}}
{{- $env = append $env (dict "name" "PROJECTOR_LEASE_RENEW_SECONDS" "value" (toString .renewSeconds)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $ctx.Values.mongodb.enabled -}}
{{- $env = append $env (dict "name" "MONGODB_APP_PASSWORD" "valueFrom" (dict "secretKeyRef" (dict "name" (include "microblog.mongodb.secretName" $ctx) "key" "app-password"))) -}}
{{- $uri := printf "mongodb://%s:$(MONGODB_APP_PASSWORD)@%s/%s?replicaSet=%s&authSource=admin" $ctx.Values.mongodb.auth.appUser (include "microblog.mongodb.hosts" $ctx) $ctx.Values.config.mongodbDatabase $ctx.Values.mongodb.replicaSetName -}}
{{- $env = append $env (dict "name" "MONGODB_URI" "value" $uri) -}}
{{- end -}}
{{- $env = concat $env (.extraEnv | default list) -}}
{{- if $env -}}
{{- toYaml $env -}}
{{- end -}}
{{- end -}}

{{/* Fail early on combinations that cannot work. */}}
{{- define "microblog.validate" -}}
{{- if and (not .Values.mongodb.enabled) (not .Values.secret.existingSecret) (not .Values.mongodb.uri) -}}
{{- fail "mongodb.enabled is false: set mongodb.uri or secret.existingSecret (with MONGODB_URI) to reach the external replica set" -}}
{{- end -}}
{{- if and .Values.readModels.uri .Values.secret.existingSecret -}}
{{- fail "readModels.uri is stored in the chart's Secret: with secret.existingSecret, put READ_MODEL_MONGODB_URI in that Secret instead" -}}
{{- end -}}
{{- if and .Values.mongodb.uri .Values.mongodb.enabled -}}
{{- fail "mongodb.uri is only used with mongodb.enabled=false: the bundled replica set builds its own URI" -}}
{{- end -}}
{{- if and .Values.projector.leaderElection.enabled (not .Values.serviceAccount.create) -}}
{{- fail "projector.leaderElection.enabled needs serviceAccount.create: the Lease Role is bound to the projector's own ServiceAccount, never to default" -}}
{{- end -}}
{{- with .Values.projector.leaderElection -}}
{{- if and .enabled (ge (mul 2 (int .renewSeconds)) (int .leaseSeconds)) -}}
{{- fail "projector.leaderElection.renewSeconds must be under half of leaseSeconds: the leader stops that long before a standby may start" -}}
{{- end -}}
{{- end -}}
{{- if and (gt (int .Values.projector.replicaCount) 1) (not .Values.projector.leaderElection.enabled) -}}
{{- fail "projector.replicaCount > 1 needs projector.leaderElection.enabled: two projectors without a Lease would both consume the change stream" -}}
{{- end -}}
{{- if and .Values.secret.jwtSecret (lt (len .Values.secret.jwtSecret) 32) -}}
{{- fail "secret.jwtSecret must be at least 32 characters" -}}
{{- end -}}
{{- if and .Values.secret.consistencySecret (lt (len .Values.secret.consistencySecret) 32) -}}
{{- fail "secret.consistencySecret must be at least 32 characters" -}}
{{- end -}}
{{- if and .Values.secret.consistencyPreviousSecret (not .Values.secret.consistencySecret) -}}
{{- fail "secret.consistencyPreviousSecret needs secret.consistencySecret: set the new key as current and the old one as previous" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.className) -}}
{{- fail "ingress.enabled needs ingress.className: name your controller's IngressClass (kubectl get ingressclass; Minikube's addon: nginx)" -}}
{{- end -}}
{{- if .Values.httpRoute.enabled -}}
{{- $_ := include "microblog.httpRouteTimeout" . -}}
{{- end -}}
{{- if and .Values.ingress.tls.enabled (not .Values.ingress.host) -}}
{{- fail "ingress.tls.enabled needs ingress.host: a certificate is issued for a name" -}}
{{- end -}}
{{- end -}}

{{/*
The HTTPRoute's request timeout in whole seconds: httpRoute.requestTimeoutSeconds,
or (0) config.consistencyWaitMs rounded up plus 15 s. A read carrying a
consistency token may wait consistencyWaitMs before it starts, so a timeout
below that cuts off exactly the reads that asked to see their own writes; a set
value must leave at least 5 s after the wait.
*/}}
{{- define "microblog.httpRouteTimeout" -}}
{{- $waitSeconds := div (add (int .Values.config.consistencyWaitMs) 999) 1000 -}}
{{- $set := int .Values.httpRoute.requestTimeoutSeconds -}}
{{- if eq $set 0 -}}
{{- add $waitSeconds 15 -}}
{{- else if lt $set (add $waitSeconds 5) -}}
{{- fail (printf "httpRoute.requestTimeoutSeconds (%d) must be at least config.consistencyWaitMs (%d ms) plus 5 s: a read may wait that long for its consistency token before it starts" $set (int .Values.config.consistencyWaitMs)) -}}
{{- else -}}
{{- $set -}}
{{- end -}}
{{- end -}}

{{/* NetworkPolicy egress rules shared by several policies. */}}
{{- define "microblog.np.dnsEgress" -}}
- to:
    {{- toYaml .Values.networkPolicy.dns | nindent 4 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end -}}

{{- define "microblog.np.mongodbEgress" -}}
{{- if .Values.mongodb.enabled -}}
- to:
    - podSelector:
        matchLabels:
          {{- include "microblog.selectorLabels" (dict "ctx" . "component" "mongodb") | nindent 10 }}
  ports:
    - protocol: TCP
      port: 27017
{{- else -}}
{{- $external := .Values.networkPolicy.externalMongoDB -}}
{{- if not $external.cidrs -}}
{{- range $external.ports -}}
{{- if kindIs "map" . -}}
{{- fail (printf "networkPolicy.externalMongoDB.ports has the range %v-%v but no cidrs: that allows those ports to every address; name the replica set's addresses (e.g. the PrivateLink endpoint) in networkPolicy.externalMongoDB.cidrs" .port .endPort) -}}
{{- end -}}
{{- end -}}
{{- end -}}
# External replica set: any address on the MongoDB ports unless
# networkPolicy.externalMongoDB.cidrs narrows it.
{{- if .Values.networkPolicy.externalMongoDB.cidrs }}
- to:
    {{- range .Values.networkPolicy.externalMongoDB.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
{{- else }}
- ports:
{{- end }}
    {{- range .Values.networkPolicy.externalMongoDB.ports }}
    {{- if kindIs "map" . }}
    - protocol: TCP
      port: {{ .port }}
      endPort: {{ .endPort }}
    {{- else }}
    - protocol: TCP
      port: {{ . }}
    {{- end }}
    {{- end }}
{{- end -}}
{{- end -}}

{{/*
PASSWORD_HASH_MEMORY_BUDGET_MIB: set, or half of the command container's memory
limit (Mi or Gi), so the hashes in flight can never get the pod killed.
*/}}
{{- define "microblog.hashMemoryBudgetMib" -}}
{{- $set := .Values.config.passwordHash.memoryBudgetMib -}}
{{- if $set -}}
{{- $set -}}
{{- else -}}
{{- $limit := toString (((.Values.command.resources).limits).memory | default "512Mi") -}}
{{- $mib := 0 -}}
{{- if hasSuffix "Gi" $limit -}}
{{- $mib = mul (trimSuffix "Gi" $limit | atoi) 1024 -}}
{{- else if hasSuffix "Mi" $limit -}}
{{- $mib = trimSuffix "Mi" $limit | atoi -}}
{{- else -}}
{{- fail "command.resources.limits.memory must be in Mi or Gi (or set config.passwordHash.memoryBudgetMib)" -}}
{{- end -}}
{{- max 1 (div $mib 2) -}}
{{- end -}}
{{- end -}}
