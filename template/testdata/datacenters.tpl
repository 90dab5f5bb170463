{{ range datacenters }}{{ . }} {{ end }}
{{ range datacenters true }}{{ . }} {{ end }}
