package server

import (
	bexpr "github.com/hashicorp/go-bexpr"

	"conclave/agent/structs"
)

// resultFilter is a parsed ?filter expression. It is built once per
// request, before any blocking, so a bad expression fails at once with a
// 400 instead of after the wait.
type resultFilter struct {
	expr string
	f    *bexpr.Filter
}

// newFilter parses expr; an empty expression filters nothing.
func newFilter(expr string) (*resultFilter, error) {
	if expr == "" {
		return &resultFilter{}, nil
	}
	f, err := bexpr.CreateFilter(expr)
	if err != nil {
		return nil, structs.BadRequestf("invalid filter %q: %v", expr, err)
	}
	return &resultFilter{expr: expr, f: f}, nil
}

// applyFilter keeps the items of a slice, or the values of a map, that
// match the filter. Selectors are the JSON field names of the items
// (Node.Meta.rack, Service.Tags, Checks.Status, ...), as in Consul.
func applyFilter[T any](rf *resultFilter, data T) (T, error) {
	if rf == nil || rf.f == nil {
		return data, nil
	}
	out, err := rf.f.Execute(data)
	if err != nil {
		var zero T
		return zero, structs.BadRequestf("filter %q: %v", rf.expr, err)
	}
	return out.(T), nil
}
