{{ mustEnv "APP_ENV" }}
