{{ with node "node1" }}{{ .Node.Node }} {{ .Node.Address }} {{ .Node.Datacenter }} {{ .Node.Meta.rack }} {{ .Node.TaggedAddresses.wan }}
{{ range .Services }}  {{ .ID }} {{ .Service }} {{ .Port }} [{{ .Address }}] {{ join "," .Tags }}
{{ end }}{{ end }}{{ with node }}local: {{ .Node.Node }} {{ .Node.ID }}
{{ range .Services }}  {{ .Service }}
{{ end }}{{ end }}{{ with node "node3@dc1" }}{{ len .Services }}{{ end }}
missing: [{{ with node "nope" }}{{ .Node }}{{ end }}]
