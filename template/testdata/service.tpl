upstream web {
{{- range service "web" }}
  server {{ .Address }}:{{ .Port }}; # {{ .Node }} {{ .ID }} {{ .Status }} {{ .NodeAddress }} {{ join "," .Tags }}
{{- end }}
}
prod: {{ range service "prod.web" }}{{ .ID }} {{ end }}
passing,warning: {{ range service "web" "passing,warning" }}{{ .ID }}={{ .Status }} {{ end }}
any: {{ range service "web|any" }}{{ .ID }}={{ .Status }} {{ end }}
critical: {{ range service "web|critical" }}{{ .ID }} {{ end }}
maintenance: {{ range service "web|maintenance" }}{{ .ID }} {{ end }}
dc: {{ range service "db@dc1" }}{{ .ID }} {{ .Name }} {{ .NodeMeta.rack }} {{ .NodeTaggedAddresses.wan }}{{ end }}
meta: {{ range service "api|any" }}{{ .ServiceMeta.owner }} {{ .ServiceMeta.version }} {{ .Weights.Passing }}/{{ .Weights.Warning }}{{ end }}
checks: {{ range service "web|any" }}{{ .ID }}:{{ range .Checks }}{{ .CheckID }}={{ .Status }},{{ end }} {{ end }}
none: [{{ range service "nope" }}{{ . }}{{ end }}]
