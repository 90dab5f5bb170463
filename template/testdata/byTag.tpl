{{ range $tag, $services := service "web|any" | byTag }}{{ $tag }}: {{ range $services }}{{ .ID }} {{ end }}
{{ end }}--
{{ range $tag, $services := services | byTag }}{{ $tag }}: {{ range $services }}{{ .Name }} {{ end }}
{{ end }}