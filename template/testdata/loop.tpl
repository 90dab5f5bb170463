{{ range loop 3 }}{{ . }} {{ end }}
{{ range $i := loop 2 5 }}{{ $i }} {{ end }}
{{ range loop "1" "3" }}{{ . }} {{ end }}[{{ range loop 5 2 }}{{ . }}{{ end }}]
