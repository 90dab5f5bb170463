{{ range ls "app/config" }}{{ .Key }}={{ .Value }} ({{ .Path }})
{{ end }}{{ range ls "/services/" }}{{ .Key }}={{ .Value }}
{{ end }}none=[{{ range ls "nothing/here" }}{{ .Key }}{{ end }}]
