{{ key "app/json" | parseJSON | toJSON }}
{{ tree "app/config" | explode | toJSON }}
{{ toJSON "a<b>&c" }}
{{ range service "db" }}{{ toJSON .Tags }}{{ end }}
