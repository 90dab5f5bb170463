{{ envOrDefault "APP_ENV" "dev" }} [{{ envOrDefault "EMPTY_VAR" "dflt" }}] {{ envOrDefault "UNSET_VAR" "dflt" }}
