{{/*
Observability helpers (templates/monitoring/, docs/kubernetes.md#observability).
*/}}

{{/* The OTLP/HTTP base URL the processes send traces to, or "" for none. */}}
{{- define "microblog.otlpEndpoint" -}}
{{- if .Values.monitoring.tracing.otlpEndpoint -}}
{{- .Values.monitoring.tracing.otlpEndpoint -}}
{{- else if .Values.monitoring.otelCollector.enabled -}}
{{- printf "http://%s.%s.svc.%s:4318" (include "microblog.componentName" (dict "ctx" . "component" "otel-collector")) (include "microblog.namespace" .) .Values.clusterDomain -}}
{{- end -}}
{{- end }}

{{/* Egress of the three processes to where their traces go (NetworkPolicy rules). */}}
{{- define "microblog.np.tracesEgress" -}}
{{- if .Values.monitoring.otelCollector.enabled }}
# Traces, to the chart's OpenTelemetry Collector.
- to:
    - podSelector:
        matchLabels:
          {{- include "microblog.selectorLabels" (dict "ctx" . "component" "otel-collector") | nindent 10 }}
  ports:
    - protocol: TCP
      port: 4318
{{- end }}
{{- with .Values.networkPolicy.tracesTo }}
# Traces, to the collector monitoring.tracing.otlpEndpoint names.
- to:
    {{- toYaml . | nindent 4 }}
  ports:
    - protocol: TCP
      port: {{ $.Values.monitoring.tracing.port }}
{{- end }}
{{- end }}

{{/* Scrape annotations of a process's pods: its container port, /metrics. */}}
{{- define "microblog.scrapeAnnotations" -}}
{{- if .ctx.Values.monitoring.scrapeAnnotations -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end -}}
{{- end }}

{{/* runbook_url of an alert: the base (or the path in the repository) and its anchor. */}}
{{- define "microblog.runbook" -}}
{{- printf "%s#%s" (.ctx.Values.monitoring.prometheusRule.runbookBaseUrl | default "docs/kubernetes.md") .anchor -}}
{{- end }}
