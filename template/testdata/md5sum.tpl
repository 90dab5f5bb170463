{{ md5sum "hopscotch" }} {{ key "app/name" | md5sum }}
