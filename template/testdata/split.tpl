{{ range split "," (key "app/list") }}[{{ . }}]{{ end }}
{{ len (split "," "") }} {{ len (split "," "   ") }}
