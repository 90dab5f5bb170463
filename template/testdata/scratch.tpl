{{ range service "web|any" }}{{ scratch.MapSet "byzone" .ID .ServiceMeta.zone }}{{ scratch.SetX "first" .ID }}{{ scratch.Set "last" .ID }}{{ end }}first={{ scratch.Get "first" }} last={{ scratch.Get "last" }} has={{ scratch.Key "last" }} nope={{ scratch.Key "nope" }}
{{ range scratch.MapValues "byzone" }}{{ . }} {{ end }}
{{ scratch.MapSetX "byzone" "web1" "changed" }}{{ scratch.Get "byzone" }}
