{{ $want := parseJSON `["v1","canary"]` }}{{ range service "web|any" }}{{ .ID }}={{ containsNone $want .Tags }} {{ end }}
