package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"conclave/agent"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data-not-created")
	write := func(name, body string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("good/a.json", `{"data_dir": "`+dataDir+`", "node_name": "n1", "server": true}`)
	write("good/b.hcl", `services { name = "web" port = 80 }`)
	write("good/notes.txt", "skipped")
	bad := write("bad/a.json", `{"data_dir": "`+dataDir+`", "ports": {"http": "many"}}`)
	unknown := write("unknown/a.json", `{"data_dir": "`+dataDir+`", "node_name": "n1", "no_such_key": 1}`)
	conf := write("conf/agent.conf", `data_dir = "`+dataDir+`"`+"\nnode_name = \"n1\"\n")
	fragment := write("fragment/a.json", `{"node_name": "n1"}`)

	cases := []struct {
		name       string
		args       []string
		code       int
		stdout     string
		stderrHas  []string
		stderrNone bool
	}{
		{name: "dir", args: []string{filepath.Join(dir, "good")}, stdout: "Configuration is valid!\n",
			stderrHas: []string{"notes.txt: skipped"}},
		{name: "quiet", args: []string{"-quiet", filepath.Join(dir, "good", "a.json")}, stderrNone: true},
		{name: "bad value", args: []string{bad}, code: 1, stderrHas: []string{"Config validation failed: ", bad, "ports.http"}},
		{name: "unknown key warns", args: []string{unknown}, stdout: "Configuration is valid!\n", stderrHas: []string{"no_such_key"}},
		{name: "config-format", args: []string{"-config-format=hcl", conf}, stdout: "Configuration is valid!\n"},
		{name: "fragment", args: []string{fragment}, code: 1, stderrHas: []string{"data_dir"}},
		{name: "no args", args: []string{}, code: 1, stderrHas: []string{"Must specify at least one config file or directory"}},
		{name: "bad format", args: []string{"-config-format=yaml", conf}, code: 1, stderrHas: []string{"'hcl' or 'json'"}},
	}
	for _, c := range cases {
		r := runCLI(t, run{agent: agent.CLI{}, args: append([]string{"validate"}, c.args...)})
		if r.code != c.code || r.stdout != c.stdout {
			t.Errorf("%s: validate %q = %d, %q (stderr %q); want %d, %q", c.name, c.args, r.code, r.stdout, r.stderr, c.code, c.stdout)
		}
		for _, want := range c.stderrHas {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: validate %q stderr = %q, want it to name %q", c.name, c.args, r.stderr, want)
			}
		}
		if c.stderrNone && r.stderr != "" {
			t.Errorf("%s: validate %q stderr = %q, want nothing", c.name, c.args, r.stderr)
		}
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("Stat(data_dir) after validate = %v, want it never created", err)
	}
}
