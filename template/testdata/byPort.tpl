{{ range $port, $services := service "web|any" | byPort }}{{ $port }}: {{ range $services }}{{ .ID }} {{ end }}
{{ end }}