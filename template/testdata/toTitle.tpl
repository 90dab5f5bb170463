{{ key "app/title" | toTitle }} {{ toTitle "o'neil is here" }}
