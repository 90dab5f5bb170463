{{ key "app/json" | parseJSON | toYAML }}
---
{{ tree "app/config" | explode | toYAML }}
---
{{ key "app/yaml" | parseYAML | toYAML }}
