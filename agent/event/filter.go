package event

import (
	"regexp"

	"conclave/agent/structs"
)

// Matches tells whether an agent named node, running services (by ID),
// should act on e: its node name matches the node filter, and, with a
// service filter, one of its services matches by name or ID (and, with
// a tag filter, has a matching tag). A filter that does not compile
// matches nothing; servers refuse such events before they are fired.
func Matches(e *structs.UserEvent, node string, services map[string]*structs.NodeService) bool {
	if e.NodeFilter != "" {
		re, err := regexp.Compile(e.NodeFilter)
		if err != nil || !re.MatchString(node) {
			return false
		}
	}
	if e.ServiceFilter == "" {
		return true
	}
	re, err := regexp.Compile(e.ServiceFilter)
	if err != nil {
		return false
	}
	var tagRe *regexp.Regexp
	if e.TagFilter != "" {
		if tagRe, err = regexp.Compile(e.TagFilter); err != nil {
			return false
		}
	}
	for id, svc := range services {
		if !re.MatchString(svc.Service) && !re.MatchString(id) {
			continue
		}
		if tagRe == nil {
			return true
		}
		for _, tag := range svc.Tags {
			if tagRe.MatchString(tag) {
				return true
			}
		}
	}
	return false
}
