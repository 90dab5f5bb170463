[{{ writeToFile (printf "%s/written.txt" (env "OUT_DIR")) "" "" "0640" "first" }}][{{ key "app/name" | writeToFile (printf "%s/written.txt" (env "OUT_DIR")) "" "" "0640" "append,newline" }}]
