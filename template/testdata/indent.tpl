x:
{{ key "app/yaml" | indent 4 }}
{{ indent 2 "a\n\nb" }}
