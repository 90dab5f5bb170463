{{ range safeTree "services" }}{{ .Key }}={{ .Value }}
{{ end }}