{{ replaceAll "." "-" "a.b.c" }} {{ key "app/name" | replaceAll "o" "0" }}
