package template

import (
	"text/template"
)

// funcMap is the function set of one render: consul-template's names,
// bound to this render's data and scratch pad.
func (r *renderer) funcMap(tmpl *template.Template) template.FuncMap {
	return template.FuncMap{
		// Data.
		"datacenters":  r.datacenters,
		"file":         r.file,
		"key":          r.key,
		"keyExists":    r.keyExists,
		"keyOrDefault": r.keyOrDefault,
		"ls":           r.listFunc(topLevel, true),
		"safeLs":       r.listFunc(topLevel, false),
		"tree":         r.listFunc(leaf, true),
		"safeTree":     r.listFunc(leaf, false),
		"node":         r.node,
		"nodes":        r.nodes,
		"service":      r.service,
		"services":     r.services,
		"env":          r.envFunc,
		"mustEnv":      r.mustEnv,
		"envOrDefault": r.envOrDefault,

		// State and composition.
		"scratch":         func() *Scratch { return &r.scratch },
		"executeTemplate": executeTemplate(tmpl),

		// Grouping.
		"byKey":  byKey,
		"byMeta": byMeta,
		"byPort": byPort,
		"byTag":  byTag,

		// Membership.
		"contains":       contains,
		"containsAll":    containsAll,
		"containsAny":    containsAny,
		"containsNone":   containsNone,
		"containsNotAll": containsNotAll,
		"in":             in,

		// Maps and lists.
		"explode":              explode,
		"explodeMap":           explodeMap,
		"mergeMap":             mergeMap,
		"mergeMapWithOverride": mergeMapWithOverride,
		"loop":                 loop,

		// Strings.
		"indent":          indent,
		"join":            join,
		"split":           split,
		"splitToMap":      splitToMap,
		"trim":            trim,
		"trimPrefix":      trimPrefix,
		"trimSuffix":      trimSuffix,
		"trimSpace":       trimSpace,
		"toLower":         toLower,
		"toUpper":         toUpper,
		"toTitle":         toTitle,
		"replaceAll":      replaceAll,
		"regexMatch":      regexMatch,
		"regexReplaceAll": regexReplaceAll,
		"base64Decode":    base64Decode,
		"base64Encode":    base64Encode,
		"base64URLDecode": base64URLDecode,
		"base64URLEncode": base64URLEncode,
		"md5sum":          md5sum,
		"sha256Hex":       sha256Hex,
		"hmacSHA256Hex":   hmacSHA256Hex,

		// Encodings.
		"toJSON":                toJSON,
		"toJSONPretty":          toJSONPretty,
		"toUnescapedJSON":       toUnescapedJSON,
		"toUnescapedJSONPretty": toUnescapedJSONPretty,
		"toYAML":                toYAML,
		"toTOML":                toTOML,
		"parseJSON":             parseJSON,
		"parseYAML":             parseYAML,
		"parseBool":             parseBool,
		"parseFloat":            parseFloat,
		"parseInt":              parseInt,
		"parseUint":             parseUint,

		// Math.
		"add":      add,
		"subtract": subtract,
		"multiply": multiply,
		"divide":   divide,
		"modulo":   modulo,
		"minimum":  minimum,
		"maximum":  maximum,

		// The host.
		"timestamp":   timestamp,
		"sockaddr":    sockaddr,
		"writeToFile": writeToFile,
	}
}
