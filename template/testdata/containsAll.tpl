{{ $want := parseJSON `["prod","v1"]` }}{{ range service "web|any" }}{{ .ID }}={{ containsAll $want .Tags }} {{ end }}
