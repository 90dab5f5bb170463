{{ parseInt "42" }} {{ parseInt "" }} {{ parseInt "-7" }} {{ key "app/config/port" | parseInt | add 1 }}
