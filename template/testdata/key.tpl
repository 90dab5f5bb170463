name={{ key "app/name" }}
slash={{ key "/app/config/port" }}
dc={{ key "app/config/db/host@dc1" }}
empty=[{{ key "app/empty" }}]
