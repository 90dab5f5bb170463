package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl"
	"github.com/spf13/cobra"
)

// NewCmdServices is the parent of the services subcommands (wired in
// root.go, where its subcommands are added).
func NewCmdServices(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "services <subcommand> [options] [args]",
		Short: "Interact with services",
		Long: `Registers and deregisters services with the local agent, which then runs
their health checks and keeps the catalog in step with them.

Services can also be defined in the agent's configuration files and
applied with "conclave reload"; services registered here are kept by the
agent in its data directory, so they survive agent restarts.

` + exitStatusHelp,
		Example: `  $ conclave services register -name=web -port=8080 -tag=v1
  Registered service: web

  $ conclave services register web.json
  $ conclave services deregister -id=web`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return failf("Error! Unknown subcommand %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
}

// serviceDef is one service definition read from a file, as decoded: keys
// in either of Consul's spellings. The agent decodes and checks it.
type serviceDef map[string]any

// normDefKey folds "EnableTagOverride" and "enable_tag_override" together.
func normDefKey(k string) string { return strings.ToLower(strings.ReplaceAll(k, "_", "")) }

// key returns the actual key spelling used for name, or "" if absent.
func (d serviceDef) key(name string) string {
	for k := range d {
		if normDefKey(k) == name {
			return k
		}
	}
	return ""
}

// str returns a string field ("name", "id"), or "".
func (d serviceDef) str(name string) string {
	if k := d.key(name); k != "" {
		s, _ := d[k].(string)
		return s
	}
	return ""
}

// setDefault sets a field the definition lacks.
func (d serviceDef) setDefault(name string, v any) {
	if d.key(name) == "" {
		d[name] = v
	}
}

// readServiceFiles reads the service definitions of each file: the
// service and services keys of a JSON or HCL config file, as the agent
// reads them. A file without either key is an error: it registers
// nothing, which is never what was meant.
func readServiceFiles(paths []string) ([]serviceDef, error) {
	var out []serviceDef
	for _, p := range paths {
		defs, err := readServiceFile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if len(defs) == 0 {
			return nil, fmt.Errorf("%s: no service definition (a \"service\" or \"services\" key)", p)
		}
		out = append(out, defs...)
	}
	return out, nil
}

func readServiceFile(path string) ([]serviceDef, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	doc := map[string]any{}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".hcl":
		err = unmarshalHCL(buf, &doc)
	case ".json":
		err = json.Unmarshal(buf, &doc)
	default:
		// No telling extension: JSON if it parses, else HCL (which also
		// reads most JSON).
		if jerr := json.Unmarshal(buf, &doc); jerr != nil {
			doc = map[string]any{}
			err = unmarshalHCL(buf, &doc)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("invalid JSON or HCL: %w", err)
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var defs []serviceDef
	for _, k := range keys {
		switch strings.ToLower(k) {
		case "service", "services":
		default:
			continue
		}
		list, err := definitionList(doc[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		defs = append(defs, list...)
	}
	return defs, nil
}

// unmarshalHCL is hcl.Unmarshal that fails instead of panicking.
// hashicorp/hcl v1 (its last release) panics on some malformed input, such
// as the four bytes {"\0 (hashicorp/hcl#194, open), which would crash the
// command on a broken file. agent/config recovers the same way for the
// agent's own files; commands may not import it.
func unmarshalHCL(b []byte, doc *map[string]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the HCL parser failed on this input: %v", r)
		}
	}()
	return hcl.Unmarshal(b, doc)
}

// definitionList reads one object (JSON), a list of objects, or HCL's
// list of blocks (one service per block).
func definitionList(v any) ([]serviceDef, error) {
	switch x := v.(type) {
	case map[string]any:
		return []serviceDef{x}, nil
	case []map[string]any:
		out := make([]serviceDef, len(x))
		for i, m := range x {
			out[i] = m
		}
		return out, nil
	case []any:
		var out []serviceDef
		for _, e := range x {
			l, err := definitionList(e)
			if err != nil {
				return nil, err
			}
			out = append(out, l...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("not an object or a list of objects")
}
