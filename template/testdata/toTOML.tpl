{{ key "app/json" | parseJSON | toTOML }}
---
{{ tree "app/config" | explode | toTOML }}
