{{ range service "web|any" }}{{ .ID }}:{{ if .Tags | contains "prod" }} prod{{ end }}{{ if contains "v2" .Tags }} v2{{ end }}
{{ end }}{{ contains "cot" "hopscotch" }} {{ contains "xyz" "hopscotch" }}
