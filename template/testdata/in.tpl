{{ range service "web|any" }}{{ .ID }}={{ in .Tags "prod" }} {{ end }}
{{ in "hopscotch" "hop" }} {{ in "hopscotch" "nope" }} {{ in (split "," "1,2") "2" }}
