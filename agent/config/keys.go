package config

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// configKeys are the top-level keys of Consul's agent configuration that
// no Config field holds (see keyHandlers).
//
// The service and check definitions and the watches need the file they
// came from, so code decodes them. Every other key here is one conclave does not
// implement yet, and none is accepted silently: a key that only tunes
// something conclave lacks is a warning that it has no effect, and a key
// whose absence would leave the agent less protected than its file asks
// for stops start-up. When a key gets implemented, it becomes a Config
// field and leaves this table.
var configKeys = map[string]keyHandler{
	"service":  fileDefinitions(false, true),
	"services": fileDefinitions(true, true),
	"check":    fileDefinitions(false, false),
	"checks":   fileDefinitions(true, false),
	"watches":  watchDefinitions,

	"limits": noEffect,

	"auto_encrypt": refuse(asksFor, "auto_encrypt is not supported: this agent would ask its servers for a certificate it cannot get; "+
		"give the client agent cert_file and key_file from `conclave tls cert create -client` instead"),
}

// noEffect warns that a key is accepted and does nothing.
func noEffect(d *decodeState, path string, _ any) error {
	d.warn(path, "key %q is not supported yet and has no effect (ignored)", path)
	return nil
}

// refuse stops start-up with reason when the value asks for protection
// (asks), and otherwise, like noEffect, only warns: acl { enabled = false }
// or verify_incoming = false ask for nothing conclave would not do.
func refuse(asks func(any) bool, reason string) keyHandler {
	return func(d *decodeState, path string, v any) error {
		if asks(v) {
			return errors.New(reason)
		}
		return noEffect(d, path, v)
	}
}

// asksFor tells whether a value asks for something: a true, a non-empty
// string or a non-zero number anywhere in it.
func asksFor(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(x)); err == nil {
			return b
		}
		return x != ""
	case int:
		return x != 0
	case float64:
		return x != 0
	case map[string]any:
		for _, e := range x {
			if asksFor(e) {
				return true
			}
		}
		return false
	case []map[string]any:
		return slices.ContainsFunc(x, func(m map[string]any) bool { return asksFor(m) })
	case []any:
		return slices.ContainsFunc(x, asksFor)
	}
	return true
}
