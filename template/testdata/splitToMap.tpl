{{ range $k, $v := key "app/map" | splitToMap "," "=" }}{{ $k }}:{{ $v }} {{ end }}
{{ len (splitToMap "," "=" "") }}
