{{/* Names and labels. */}}
{{- define "mpp-hub.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mpp-hub.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mpp-hub
{{- end -}}

{{/* Selector of one role: (dict "root" $ "role" "api"). */}}
{{- define "mpp-hub.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "mpp-hub.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* The agencies enabled in values, sorted. */}}
{{- define "mpp-hub.enabledAgencies" -}}
{{- $enabled := list -}}
{{- range $agency, $adapter := .Values.adapters -}}
{{- if $adapter.enabled -}}{{- $enabled = append $enabled $agency -}}{{- end -}}
{{- end -}}
{{- sortAlpha $enabled | toJson -}}
{{- end -}}

{{- define "mpp-hub.secretRef" -}}
valueFrom:
  secretKeyRef:
    name: {{ required "a secret reference needs a name" .name }}
    key: {{ required "a secret reference needs a key" .key }}
{{- end -}}

{{/*
The environment of every hub process: the same settings everywhere, since each process
validates the whole settings object (every connected agency included) at start-up.
*/}}
{{- define "mpp-hub.env" -}}
- name: MPP_ENV
  value: {{ .Values.env | quote }}
- name: MPP_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: MPP_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: MPP_METRICS_PORT
  value: {{ .Values.metricsPort | quote }}
- name: MPP_KAFKA__BOOTSTRAP
  value: {{ required "kafka.bootstrap is required" .Values.kafka.bootstrap | quote }}
- name: MPP_KAFKA__PARTITIONS
  value: {{ .Values.kafka.partitions | quote }}
- name: MPP_KAFKA__REPLICATION_FACTOR
  value: {{ .Values.kafka.replicationFactor | quote }}
- name: MPP_KAFKA__MIN_INSYNC_REPLICAS
  value: {{ .Values.kafka.minInsyncReplicas | quote }}
{{- with .Values.kafka.retentionHours }}
- name: MPP_KAFKA__RETENTION_HOURS
  value: {{ toJson . | quote }}
{{- end }}
- name: MPP_KAFKA__SECURITY_PROTOCOL
  value: {{ required "kafka.securityProtocol is required" .Values.kafka.securityProtocol | quote }}
{{- if .Values.kafka.caSecret }}
- name: MPP_KAFKA__SSL_CAFILE
  value: /etc/mpp-hub/kafka-ca/ca.crt
{{- end }}
- name: MPP_ENABLED_AGENCIES
  value: {{ include "mpp-hub.enabledAgencies" . | quote }}
- name: MPP_DATABASE_URL
  {{- include "mpp-hub.secretRef" .Values.database.secret | nindent 2 }}
- name: MPP_API__CLIENTS
  {{- include "mpp-hub.secretRef" .Values.api.clientsSecret | nindent 2 }}
- name: MPP_API__OPERATOR_KEYS
  {{- include "mpp-hub.secretRef" .Values.api.operatorKeysSecret | nindent 2 }}
- name: MPP_PRIVACY__MASTER_KEYS
  {{- include "mpp-hub.secretRef" .Values.privacy.masterKeysSecret | nindent 2 }}
- name: MPP_PRIVACY__AUDIT_SIGNING_KEY
  {{- include "mpp-hub.secretRef" .Values.privacy.auditSigningKeySecret | nindent 2 }}
- name: MPP_PRIVACY__NIK_INDEX_KEY
  {{- include "mpp-hub.secretRef" .Values.privacy.nikIndexKeySecret | nindent 2 }}
{{- range $agency, $adapter := .Values.adapters }}
{{- if $adapter.enabled }}
{{- range $field, $value := $adapter.settings }}
- name: {{ printf "MPP_AGENCIES__%s__%s" (upper $agency) (upper $field) }}
  value: {{ if kindIs "string" $value }}{{ $value | quote }}{{ else }}{{ toJson $value | quote }}{{ end }}
{{- end }}
{{- range $field, $ref := $adapter.secretEnv }}
- name: {{ printf "MPP_AGENCIES__%s__%s" (upper $agency) (upper $field) }}
  {{- include "mpp-hub.secretRef" $ref | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ if kindIs "string" $value }}{{ $value | quote }}{{ else }}{{ toJson $value | quote }}{{ end }}
{{- end }}
{{- range $name, $ref := .Values.extraSecretEnv }}
- name: {{ $name }}
  {{- include "mpp-hub.secretRef" $ref | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Who a pod is on the bus: (dict "root" $ "principal" "mpp-adapter-samsat"), default the
hub's principal; "busAdmin" true: the provisioning job, signed in as the cluster's admin.
Each pod gets its own principal's password alone, from its key of the principals Secret.
*/}}
{{- define "mpp-hub.busIdentity" -}}
{{- $kafka := .root.Values.kafka -}}
{{- if .busAdmin }}
{{- $admin := $kafka.provisioning.adminSecret }}
- name: MPP_KAFKA__SASL_MECHANISM
  value: {{ $kafka.provisioning.saslMechanism | default $kafka.saslMechanism | quote }}
- name: MPP_KAFKA__USERNAME
  {{- include "mpp-hub.secretRef" (dict "name" $admin.name "key" $admin.usernameKey) | nindent 2 }}
- name: MPP_KAFKA__PASSWORD
  {{- include "mpp-hub.secretRef" (dict "name" $admin.name "key" $admin.passwordKey) | nindent 2 }}
{{- else }}
{{- $principal := .principal | default "mpp-hub" }}
- name: MPP_KAFKA__SASL_MECHANISM
  value: {{ $kafka.saslMechanism | quote }}
- name: MPP_KAFKA__USERNAME
  value: {{ $principal | quote }}
- name: MPP_KAFKA__PASSWORD
  {{- include "mpp-hub.secretRef" (dict "name" (required "kafka.principalsSecret is required" $kafka.principalsSecret) "key" $principal) | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
The pod spec of one role: (dict "root" $ "role" "relay" "args" (list "relay") "port" 9100
"portName" "metrics" "resources" ... "extraEnv" (list)).
*/}}
{{- define "mpp-hub.podSpec" -}}
{{- $root := .root -}}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
{{- if .probes }}
affinity:
  {{- if $root.Values.affinity }}
  {{- toYaml $root.Values.affinity | nindent 2 }}
  {{- else }}
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "mpp-hub.selector" . | nindent 14 }}
  {{- end }}
{{- end }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if not .probes }}
restartPolicy: Never
{{- end }}
containers:
  - name: {{ .role }}
    image: {{ include "mpp-hub.image" $root }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args: {{ toJson .args }}
    env:
      {{- include "mpp-hub.env" $root | trim | nindent 6 }}
      {{- include "mpp-hub.busIdentity" . | trim | nindent 6 }}
      {{- with .extraEnv }}
      {{- toYaml . | trim | nindent 6 }}
      {{- end }}
    {{- if .probes }}
    ports:
      - name: {{ .portName }}
        containerPort: {{ .port }}
        protocol: TCP
    startupProbe:
      httpGet: {path: /livez, port: {{ .portName }}}
      periodSeconds: 2
      failureThreshold: 60
    livenessProbe:
      httpGet: {path: /livez, port: {{ .portName }}}
      periodSeconds: 10
      timeoutSeconds: 3
      failureThreshold: 3
    readinessProbe:
      httpGet: {path: /readyz, port: {{ .portName }}}
      periodSeconds: 5
      timeoutSeconds: 3
      failureThreshold: 3
    {{- end }}
    resources:
      {{- toYaml .resources | trim | nindent 6 }}
    securityContext:
      {{- toYaml $root.Values.securityContext | trim | nindent 6 }}
    volumeMounts:
      - {name: tmp, mountPath: /tmp}
      {{- if $root.Values.kafka.caSecret }}
      - {name: kafka-ca, mountPath: /etc/mpp-hub/kafka-ca, readOnly: true}
      {{- end }}
      {{- if .busAdmin }}
      - {name: kafka-principals, mountPath: /etc/mpp-hub/kafka-principals, readOnly: true}
      {{- end }}
volumes:
  - {name: tmp, emptyDir: {sizeLimit: 64Mi}}
  {{- with $root.Values.kafka.caSecret }}
  - name: kafka-ca
    secret:
      secretName: {{ required "kafka.caSecret needs a name" .name }}
      items: [{key: {{ required "kafka.caSecret needs a key" .key }}, path: ca.crt}]
  {{- end }}
  {{- if .busAdmin }}
  # One file per principal, named after it: `mpp-hub kafka principals --passwords <dir>`.
  - name: kafka-principals
    secret: {secretName: {{ $root.Values.kafka.principalsSecret }}}
  {{- end }}
{{- end -}}

{{/* One long-running role: Deployment, Service and PodDisruptionBudget. */}}
{{- define "mpp-hub.role" -}}
{{- $root := .root -}}
{{- $name := printf "%s-%s" (include "mpp-hub.fullname" $root) .role -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "mpp-hub.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .role }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    {{- if .recreate }}
    # Never two at once, not even during a rollout.
    type: Recreate
    {{- else }}
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 0, maxSurge: 1}
    {{- end }}
  selector:
    matchLabels:
      {{- include "mpp-hub.selector" . | trim | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "mpp-hub.labels" $root | nindent 8 }}
        app.kubernetes.io/component: {{ .role }}
    spec:
      {{- include "mpp-hub.podSpec" (merge (dict "probes" true) .) | trim | nindent 6 }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "mpp-hub.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .role }}
spec:
  type: {{ .serviceType | default "ClusterIP" }}
  selector:
    {{- include "mpp-hub.selector" . | nindent 4 }}
  ports:
    {{- if eq .portName "http" }}
    - {name: http, port: {{ .servicePort }}, targetPort: http, protocol: TCP}
    {{- end }}
    # Every role's /metrics under one port name, for the ServiceMonitor.
    - {name: metrics, port: {{ $root.Values.metricsPort }}, targetPort: {{ .portName }}, protocol: TCP}
{{- if $root.Values.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "mpp-hub.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .role }}
spec:
  maxUnavailable: {{ $root.Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "mpp-hub.selector" . | trim | nindent 6 }}
{{- end }}
{{- end -}}
