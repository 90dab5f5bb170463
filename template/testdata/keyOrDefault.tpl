{{ keyOrDefault "app/name" "x" }} {{ keyOrDefault "app/empty" "was-empty" }} {{ keyOrDefault "app/missing" "was-missing" }}
