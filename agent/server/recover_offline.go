package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"conclave/agent/fsm"
)

// RecoverDataDirs rebuilds the raft configuration of a cluster that lost
// its quorum, offline, from the data dirs of the servers that survived
// (conclave's `operator raft recover`). Each server's raft ID is its
// data_dir/node-id and its address the one its own stored configuration
// last gave it. The new configuration holds exactly these servers, all
// voters; with apply, it is written into every dir as the latest
// configuration (raft.RecoverCluster, which snapshots what the log holds
// first, so no committed data is lost).
//
// The servers must be stopped: a dir whose raft log is locked by a running
// server is refused, never waited on.
func RecoverDataDirs(dirs []string, apply bool, logger hclog.Logger) (raft.Configuration, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	type dirInfo struct {
		dir  string
		id   raft.ServerID
		addr raft.ServerAddress
	}
	seen := map[raft.ServerID]string{}
	var infos []dirInfo
	for _, dir := range dirs {
		buf, err := os.ReadFile(filepath.Join(dir, "node-id"))
		if err != nil {
			return raft.Configuration{}, fmt.Errorf("%s: no node ID (is this a server's data dir?): %w", dir, err)
		}
		id := raft.ServerID(strings.TrimSpace(string(buf)))
		if other, dup := seen[id]; dup {
			return raft.Configuration{}, fmt.Errorf("%s and %s hold the same node ID %s: give each server's dir once", other, dir, id)
		}
		seen[id] = dir
		var addr raft.ServerAddress
		err = withRaftStores(dir, id, logger, func(rc *raft.Config, st raftStores) error {
			conf, err := raft.GetConfiguration(rc, fsm.New(logger), st.logs, st.stable, st.snaps, st.trans)
			if err != nil {
				return fmt.Errorf("read raft configuration: %w", err)
			}
			for _, srv := range conf.Servers {
				if srv.ID == id {
					addr = srv.Address
				}
			}
			if addr == "" {
				return fmt.Errorf("its raft configuration has no entry for its own ID %s, so its address is unknown; "+
					"write data_dir/raft/peers.json by hand instead", id)
			}
			return nil
		})
		if err != nil {
			return raft.Configuration{}, fmt.Errorf("%s: %w", dir, err)
		}
		infos = append(infos, dirInfo{dir: dir, id: id, addr: addr})
	}
	conf := raft.Configuration{}
	for _, in := range infos {
		conf.Servers = append(conf.Servers, raft.Server{ID: in.id, Address: in.addr, Suffrage: raft.Voter})
	}
	sort.Slice(conf.Servers, func(i, j int) bool { return conf.Servers[i].ID < conf.Servers[j].ID })
	if !apply {
		return conf, nil
	}
	for _, in := range infos {
		err := withRaftStores(in.dir, in.id, logger, func(rc *raft.Config, st raftStores) error {
			return raft.RecoverCluster(rc, fsm.New(logger), st.logs, st.stable, st.snaps, st.trans, conf)
		})
		if err != nil {
			return conf, fmt.Errorf("%s: recover: %w", in.dir, err)
		}
		logger.Info("raft configuration rewritten", "dir", in.dir, "servers", len(conf.Servers))
	}
	return conf, nil
}

type raftStores struct {
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore
	trans  raft.Transport
}

// withRaftStores opens a stopped server's raft stores, runs fn and closes
// them again.
func withRaftStores(dir string, id raft.ServerID, logger hclog.Logger, fn func(*raft.Config, raftStores) error) error {
	raftDir := filepath.Join(dir, "raft")
	walDir := filepath.Join(raftDir, "wal")
	if _, err := os.Stat(walDir); err != nil {
		return fmt.Errorf("no raft log at %s: %w", walDir, err)
	}
	if err := checkUnlocked(filepath.Join(walDir, metadb.FileName)); err != nil {
		return err
	}
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(walDir, wal.WithLogger(logger.Named("raft.wal")), wal.WithMetaStore(meta))
	if err != nil {
		meta.Close()
		return fmt.Errorf("open raft log: %w", err)
	}
	defer func() {
		w.Close()
		meta.Close()
	}()
	snaps, err := raft.NewFileSnapshotStoreWithLogger(raftDir, 2, logger.Named("raft.snapshot"))
	if err != nil {
		return fmt.Errorf("open snapshots: %w", err)
	}
	_, trans := raft.NewInmemTransport(raft.ServerAddress("recover"))
	rc := raft.DefaultConfig()
	rc.LocalID = id
	rc.Logger = logger.Named("raft")
	return fn(rc, raftStores{logs: w, stable: w, snaps: snaps, trans: trans})
}

// errInUse: the data dir belongs to a running server.
var errInUse = errors.New("the raft log is locked: stop the server that uses this data dir first")
