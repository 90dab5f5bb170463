package agent

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/server"
)

// peersJSONEntry is one server in Consul's peers.json format.
type peersJSONEntry struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	NonVoter bool   `json:"non_voter"`
}

// RecoverRaft implements `conclave operator raft recover`: it rebuilds the
// raft configuration from the data dirs of stopped, surviving servers
// (server.RecoverDataDirs), prints it in peers.json format on stdout and,
// unless dryRun, writes it into every dir.
func (CLI) RecoverRaft(dataDirs []string, dryRun bool, stdout, stderr io.Writer) error {
	logger := hclog.New(&hclog.LoggerOptions{Name: "recover", Level: hclog.Warn, Output: stderr})
	conf, err := server.RecoverDataDirs(dataDirs, !dryRun, logger)
	if err != nil {
		return err
	}
	out := make([]peersJSONEntry, 0, len(conf.Servers))
	for _, s := range conf.Servers {
		out = append(out, peersJSONEntry{ID: string(s.ID), Address: string(s.Address)})
	}
	buf, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", buf)
	if dryRun {
		fmt.Fprintf(stderr, "Dry run: nothing written. Without -dry-run, this configuration goes into %d data dir(s).\n", len(dataDirs))
	} else {
		fmt.Fprintf(stderr, "Raft configuration recovered in %d data dir(s); start those servers again.\n", len(dataDirs))
	}
	return nil
}
