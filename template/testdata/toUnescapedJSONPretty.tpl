{{ key "app/json" | parseJSON | toUnescapedJSONPretty }}
