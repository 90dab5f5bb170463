package config

import (
	"errors"
	"fmt"

	"conclave/watch"
)

// WatchDefinition is one entry of a config file's `watches`, checked by
// watch.ParseConfig when the file was read. The agent runs it against its
// own HTTP API.
type WatchDefinition struct {
	// Source is the file it came from; Key where in it ("watches[0]"),
	// for messages.
	Source string
	Key    string
	// Params are the watch's keys as Consul reads them (type, key,
	// handler_type, args, http_handler_config, ...), HCL blocks merged
	// into objects.
	Params map[string]any
}

// watchDefinitions is the key handler of `watches`: a list of watches in
// Consul's keys. Each is checked here, so a bad one stops start-up (and a
// reload) with its file, key and reason.
func watchDefinitions(d *decodeState, path string, v any) error {
	list, ok := definitionList(v)
	if !ok {
		return fmt.Errorf("%s is not a list of watches", show(v))
	}
	for i, e := range list {
		key := fmt.Sprintf("%s[%d]", path, i)
		m, ok := mergeBlocks(e)
		if !ok {
			return &PathError{Path: key, Err: fmt.Errorf("%s is not an object of keys", show(e))}
		}
		params := plainBlocks(m).(map[string]any)
		if _, err := watch.ParseConfig(params); err != nil {
			var pe *watch.ParamError
			if errors.As(err, &pe) {
				return &PathError{Path: joinPath(key, pe.Param), Err: pe.Err}
			}
			return &PathError{Path: key, Err: err}
		}
		if _, ok := params["handler"]; ok {
			d.warn(key+".handler", "%s.handler is deprecated (as in Consul): use args, e.g. [\"sh\", \"-c\", \"...\"]", key)
		}
		d.watches = append(d.watches, WatchDefinition{Source: d.source, Key: key, Params: params})
	}
	return nil
}

// plainBlocks turns HCL's blocks (lists of objects) inside a watch into
// the objects Consul's JSON form has (http_handler_config { ... } and its
// header block), leaving lists of strings (args, tag) as they are.
func plainBlocks(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainBlocks(e)
		}
		return out
	case []map[string]any:
		m, _ := mergeBlocks(x)
		return plainBlocks(m)
	}
	return v
}
