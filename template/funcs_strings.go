package template

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/BurntSushi/toml"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v2"
)

// String helpers. Their argument order puts the string last, as
// consul-template does, so they read well in pipes:
// {{ key "name" | trimSuffix ".old" | toUpper }}.

// executeTemplate runs a template "define"d in the same file, with data
// as dot (nil when not given).
func executeTemplate(tmpl *template.Template) func(string, ...any) (string, error) {
	return func(name string, data ...any) (string, error) {
		if len(data) > 1 {
			return "", fmt.Errorf("executeTemplate: wrong number of arguments, expected 1 or 2, but got %d", len(data)+1)
		}
		var dot any
		if len(data) == 1 {
			dot = data[0]
		}
		var b bytes.Buffer
		if err := tmpl.ExecuteTemplate(&b, name, dot); err != nil {
			return "", err
		}
		return b.String(), nil
	}
}

// indent puts spaces before every line that is not empty.
func indent(spaces int, s string) (string, error) {
	if spaces < 0 {
		return "", fmt.Errorf("indent value must be a positive integer")
	}
	pad := strings.Repeat(" ", spaces)
	var b strings.Builder
	atStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if atStart && c != '\n' {
			b.WriteString(pad)
		}
		b.WriteByte(c)
		atStart = c == '\n'
	}
	return b.String(), nil
}

func join(sep string, a []string) (string, error) { return strings.Join(a, sep), nil }

// split cuts s, trimmed of surrounding space, at sep; "" gives an empty
// list rather than [""].
func split(sep, s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return []string{}, nil
	}
	return strings.Split(s, sep), nil
}

// splitToMap reads "k1=v1,k2=v2" style strings (with the two separators
// given); an item without pairSep is skipped.
func splitToMap(itemSep, pairSep, s string) (map[string]string, error) {
	m := map[string]string{}
	s = strings.TrimSpace(s)
	if s == "" {
		return m, nil
	}
	for _, item := range strings.Split(s, itemSep) {
		if k, v, ok := strings.Cut(item, pairSep); ok {
			m[k] = v
		}
	}
	return m, nil
}

func trim(cutset, s string) (string, error)         { return strings.Trim(s, cutset), nil }
func trimPrefix(prefix, s string) (string, error)   { return strings.TrimPrefix(s, prefix), nil }
func trimSuffix(suffix, s string) (string, error)   { return strings.TrimSuffix(s, suffix), nil }
func trimSpace(s string) (string, error)            { return strings.TrimSpace(s), nil }
func toLower(s string) (string, error)              { return strings.ToLower(s), nil }
func toUpper(s string) (string, error)              { return strings.ToUpper(s), nil }
func replaceAll(old, new, s string) (string, error) { return strings.ReplaceAll(s, old, new), nil }

// toTitle upper-cases the first letter of each word and leaves the rest
// as they are ("hello wORLD" → "Hello WORLD").
func toTitle(s string) (string, error) {
	return cases.Title(language.Und, cases.NoLower).String(s), nil
}

func regexMatch(expr, s string) (bool, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return false, err
	}
	return re.MatchString(s), nil
}

// regexReplaceAll replaces every match; repl may name groups as $1 or
// ${name}.
func regexReplaceAll(expr, repl, s string) (string, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return "", err
	}
	return re.ReplaceAllString(s, repl), nil
}

func base64Encode(s string) (string, error) { return base64.StdEncoding.EncodeToString([]byte(s)), nil }

func base64Decode(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("base64Decode: %w", err)
	}
	return string(b), nil
}

func base64URLEncode(s string) (string, error) {
	return base64.URLEncoding.EncodeToString([]byte(s)), nil
}

func base64URLDecode(s string) (string, error) {
	b, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("base64URLDecode: %w", err)
	}
	return string(b), nil
}

func md5sum(s string) (string, error) {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:]), nil
}

func sha256Hex(s string) (string, error) {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:]), nil
}

func hmacSHA256Hex(message, key string) (string, error) {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(message))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// The encoders trim the trailing newline their libraries add, so
// `{{ toJSON . }}` sits inline.

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("toJSON: %w", err)
	}
	return string(b), nil
}

func toJSONPretty(v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("toJSONPretty: %w", err)
	}
	return string(b), nil
}

// toUnescapedJSON leaves <, > and & as they are (toJSON writes \u003c).
func toUnescapedJSON(v any) (string, error) { return unescapedJSON("toUnescapedJSON", v, "") }

func toUnescapedJSONPretty(v any) (string, error) {
	return unescapedJSON("toUnescapedJSONPretty", v, "  ")
}

func unescapedJSON(name string, v any, indent string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return strings.TrimRight(b.String(), "\r\n"), nil
}

// toYAML uses yaml.v2, as consul-template does, so key order and quoting
// match its output.
func toYAML(v any) (string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("toYAML: %w", err)
	}
	return string(bytes.TrimSpace(b)), nil
}

func toTOML(v any) (string, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(v); err != nil {
		return "", fmt.Errorf("toTOML: %w", err)
	}
	return string(bytes.TrimSpace(b.Bytes())), nil
}

// parseJSON decodes s; "" gives an empty map so `{{ with parseJSON ... }}`
// on an unset key still ranges over nothing.
func parseJSON(s string) (any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// parseYAML decodes s with yaml.v2: mappings become
// map[interface{}]interface{}, as in consul-template.
func parseYAML(s string) (any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// The number parsers read "" as zero, so an unset key parses.

func parseBool(s string) (bool, error) { return parseOrZero("parseBool", s, strconv.ParseBool) }

func parseFloat(s string) (float64, error) {
	return parseOrZero("parseFloat", s, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}

func parseInt(s string) (int64, error) {
	return parseOrZero("parseInt", s, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) })
}

func parseUint(s string) (uint64, error) {
	return parseOrZero("parseUint", s, func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) })
}

func parseOrZero[T any](name, s string, parse func(string) (T, error)) (T, error) {
	var zero T
	if s == "" {
		return zero, nil
	}
	v, err := parse(s)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}
