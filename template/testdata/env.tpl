app={{ env "APP_ENV" }} empty=[{{ env "EMPTY_VAR" }}] unset=[{{ env "UNSET_VAR" }}]
