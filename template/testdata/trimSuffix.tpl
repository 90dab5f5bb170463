[{{ trimSuffix ".conf" "nginx.conf" }}] [{{ key "app/name" | trimSuffix "scotch" }}]
