{{ split "," "a,b,c" | join " + " }}
{{ range service "web|any" }}{{ join ":" .Tags }} {{ end }}
