{{ regexMatch "^hop" (key "app/name") }} {{ regexMatch "^[0-9]+$" "12a" }} {{ key "app/config/port" | regexMatch "^[0-9]+$" }}
