[{{ trimPrefix "app/" "app/name" }}] [{{ key "app/name" | trimPrefix "hop" }}] [{{ trimPrefix "zz" "abc" }}]
