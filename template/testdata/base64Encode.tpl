{{ base64Encode "hopscotch" }} {{ key "app/json" | base64Encode }}
