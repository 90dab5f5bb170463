{{ range services }}{{ .Name }}: {{ join "," .Tags }}
{{ end }}{{ range services "@dc1" }}{{ .Name }} {{ end }}
