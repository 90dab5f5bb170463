{{ $m := parseJSON `{"a/b/c":"1","a/d":"2","e":"3"}` | explodeMap }}{{ $m.a.b.c }} {{ $m.a.d }} {{ $m.e }}
{{ toJSON $m }}
