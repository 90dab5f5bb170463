{{ keyExists "app/name" }} {{ keyExists "app/empty" }} {{ keyExists "app/missing" }}
{{ if keyExists "app/config/port" }}port is set{{ end }}
