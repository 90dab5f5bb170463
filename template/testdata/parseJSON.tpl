{{ with key "app/json" | parseJSON }}{{ .a }} {{ index .b 1 }} {{ .c.d }}{{ end }}
{{ range $k, $v := parseJSON "" }}{{ $k }}{{ end }}{{ len (parseJSON "") }}
{{ range parseJSON "[1, 2.5, \"x\"]" }}{{ . }} {{ end }}
