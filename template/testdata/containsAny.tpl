{{ $want := parseJSON `["v1","canary"]` }}{{ range service "web|any" }}{{ .ID }}={{ containsAny $want .Tags }} {{ end }}
