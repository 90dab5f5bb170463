{{ range tree "app/config" }}{{ .Key }}={{ .Value }} ({{ .Path }})
{{ end }}{{ range tree "services" }}{{ .Key }}={{ .Value }}
{{ end }}{{ range tree "app/config/db@dc1" }}{{ .Key }} {{ end }}
none=[{{ range tree "nothing/here" }}{{ .Key }}{{ end }}]
