{{ key "app/title" | toUpper }} {{ toUpper "àb" }}
