{{ range safeLs "app/config" }}{{ .Key }}={{ .Value }}
{{ end }}