{{ $want := parseJSON `["prod","v1"]` }}{{ range service "web|any" }}{{ .ID }}={{ containsNotAll $want .Tags }} {{ end }}
