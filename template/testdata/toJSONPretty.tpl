{{ key "app/json" | parseJSON | toJSONPretty }}
{{ tree "app/config" | explode | toJSONPretty }}
