{{ range nodes }}{{ .Node }} {{ .Address }} {{ .Datacenter }} {{ .Meta.rack }}
{{ end }}{{ range nodes "@dc1" }}{{ .Node }} {{ end }}
