{{ regexReplaceAll "(o+)" "[$1]" "hoopscotch" }} {{ key "app/name" | regexReplaceAll "^(?P<first>h)" "${first}H" }}
