{{ key "app/title" | toLower }} {{ toLower "ÀB" }}
