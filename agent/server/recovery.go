package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"

	"conclave/agent/fsm"
)

// PeersJSONFile is the manual recovery file: when data_dir/raft/peers.json
// exists at start-up, its servers become the raft configuration (see
// docs/ARCHITECTURE.md, "Recovering from lost quorum").
const PeersJSONFile = "peers.json"

// recoverPeersJSON applies data_dir/raft/peers.json, if present, before
// raft starts, then renames it to peers.json.recovered so it is applied
// once. The file is Consul's raft protocol 3 format:
//
//	[{"id": "<node-id>", "address": "10.0.0.1:8300", "non_voter": false}, ...]
func (s *Server) recoverPeersJSON(rc *raft.Config, logs raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore) error {
	if s.config.DataDir == "" {
		return nil
	}
	path := filepath.Join(s.config.DataDir, "raft", PeersJSONFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("peers.json: %w", err)
	}
	conf, err := raft.ReadConfigJSON(path)
	if err != nil {
		return fmt.Errorf("recovery from %s: %w", path, err)
	}
	s.logger.Warn("found peers.json: recovering the raft configuration from it", "path", path, "servers", len(conf.Servers))
	// RecoverCluster replays the log into an FSM to take a snapshot; a
	// throw-away one keeps the real state untouched until raft starts.
	if err := raft.RecoverCluster(rc, fsm.New(s.config.Logger), logs, stable, snaps, s.transport, conf); err != nil {
		return fmt.Errorf("recovery from %s: %w", path, err)
	}
	if err := os.Rename(path, path+".recovered"); err != nil {
		return fmt.Errorf("recovery applied, but %s could not be renamed (remove it before the next start): %w", path, err)
	}
	s.logger.Info("raft configuration recovered from peers.json", "renamed_to", path+".recovered")
	return nil
}
