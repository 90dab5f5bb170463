{{ key "app/json" | parseJSON | toUnescapedJSON }}
{{ toUnescapedJSON "a<b>&c" }}
