{{ range $group, $pairs := tree "services" | byKey }}{{ $group }}:
{{ range $key, $pair := $pairs }}  {{ $key }}={{ $pair.Value }} ({{ $pair.Path }})
{{ end }}{{ end }}