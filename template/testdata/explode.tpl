{{ with tree "app/config" | explode }}{{ .port }} {{ .db.host }}:{{ .db.port }} {{ .db.user }}
{{ range $k, $v := .db }}{{ $k }}={{ $v }} {{ end }}{{ end }}
