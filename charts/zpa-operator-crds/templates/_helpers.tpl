{{/*
Every file of crd-sources/ (a symlink to the repository's crds/ directory),
each with `helm.sh/resource-policy: keep` added under its top-level
`metadata:`. Nothing else in the documents changes.
*/}}
{{- define "zpa-operator-crds.crds" -}}
{{- range $path, $_ := .Files.Glob "crd-sources/*.yaml" }}
{{ $.Files.Get $path | replace "\nmetadata:\n" "\nmetadata:\n  annotations:\n    helm.sh/resource-policy: keep\n" }}
{{- end }}
{{- end -}}
