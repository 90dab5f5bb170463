{{ with key "app/yaml" | parseYAML }}{{ .name }} {{ index .ports 1 }} {{ .limits.cpu }}{{ end }}
{{ len (parseYAML "") }}
