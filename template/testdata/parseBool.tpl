{{ parseBool "true" }} {{ parseBool "0" }} {{ parseBool "" }} {{ if parseBool "T" }}yes{{ end }}
