{{ range $key, $services := service "web|any" | byMeta "zone" }}{{ $key }}: {{ range $services }}{{ .ID }} {{ end }}
{{ end }}--
{{ range $key, $services := service "web|any" | byMeta "zone,version|int" }}{{ $key }}: {{ range $services }}{{ .ID }} {{ end }}
{{ end }}--
{{ range $key, $services := service "api|any" | byMeta "owner" }}{{ $key }}: {{ range $services }}{{ .ID }} {{ end }}
{{ end }}