{{ $a := parseJSON `{"a":1,"n":{"x":1},"s":"dst"}` }}{{ $b := parseJSON `{"b":2,"n":{"y":2},"s":"src"}` }}{{ mergeMap $a $b | toJSON }}
