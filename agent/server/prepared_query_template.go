package server

import (
	"regexp"
	"strconv"
	"strings"

	"conclave/agent/structs"
)

// A template's ${...} variables, as Consul names them: name.full (the
// name asked for), name.prefix (the template's own name), name.suffix
// (what follows it), match(N) (group N of the template's Regexp against
// the full name, empty without one) and agent.segment (always empty:
// network segments are Enterprise).
var templateVar = regexp.MustCompile(`\$\{\s*([^}]*?)\s*\}`)

var matchVar = regexp.MustCompile(`^match\(\s*(\d+)\s*\)$`)

// renderQuery returns the query name stands for: a copy of q, with a
// template's variables filled in from name.
func renderQuery(q *structs.PreparedQuery, name string) (*structs.PreparedQuery, error) {
	out := *q
	if !q.IsTemplate() {
		return &out, nil
	}
	var groups []string
	if q.Template.Regexp != "" {
		re, err := regexp.Compile(q.Template.Regexp)
		if err != nil {
			return nil, structs.BadRequestf("Bad Regexp: %v", err)
		}
		groups = re.FindStringSubmatch(name)
	}
	suffix := ""
	if len(name) >= len(q.Name) {
		suffix = name[len(q.Name):]
	}
	vars := map[string]string{"name.full": name, "name.prefix": q.Name, "name.suffix": suffix, "agent.segment": ""}
	var bad error
	fill := func(s string) string {
		return templateVar.ReplaceAllStringFunc(s, func(m string) string {
			v := templateVar.FindStringSubmatch(m)[1]
			if val, ok := vars[v]; ok {
				return val
			}
			if g := matchVar.FindStringSubmatch(v); g != nil {
				n, _ := strconv.Atoi(g[1])
				if n < len(groups) {
					return groups[n]
				}
				return ""
			}
			if bad == nil {
				bad = structs.BadRequestf("Failed to render template: unknown variable %q", v)
			}
			return m
		})
	}
	fillAll := func(in []string) []string {
		if in == nil {
			return nil
		}
		out := make([]string, 0, len(in))
		for _, s := range in {
			out = append(out, fill(s))
		}
		return out
	}
	fillMap := func(in map[string]string) map[string]string {
		if in == nil {
			return nil
		}
		out := make(map[string]string, len(in))
		for k, v := range in {
			out[fill(k)] = fill(v)
		}
		return out
	}
	svc := &out.Service
	svc.Service = fill(svc.Service)
	svc.Near = fill(svc.Near)
	svc.Tags = fillAll(svc.Tags)
	svc.IgnoreCheckIDs = fillAll(svc.IgnoreCheckIDs)
	svc.Failover.Datacenters = fillAll(svc.Failover.Datacenters)
	svc.NodeMeta = fillMap(svc.NodeMeta)
	svc.ServiceMeta = fillMap(svc.ServiceMeta)
	out.DNS.TTL = fill(out.DNS.TTL)
	if bad != nil {
		return nil, bad
	}
	if q.Template.RemoveEmptyTags {
		tags := svc.Tags[:0]
		for _, t := range svc.Tags {
			if strings.TrimSpace(t) != "" {
				tags = append(tags, t)
			}
		}
		svc.Tags = tags
	}
	return &out, nil
}
