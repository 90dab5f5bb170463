[{{ trim "-" "--a-b--" }}] [{{ "xxhixx" | trim "x" }}]
