{{ define "server" }}server {{ .Address }}:{{ .Port }};{{ end }}{{ define "hello" }}hello {{ . }}{{ end }}{{ range service "web" }}{{ executeTemplate "server" . }}
{{ end }}{{ executeTemplate "hello" "world" }} [{{ executeTemplate "hello" }}]
