package state

import (
	"fmt"

	memdb "github.com/hashicorp/go-memdb"

	"conclave/agent/structs"
)

// tableAutopilot holds at most one row: the cluster's autopilot
// configuration.
const tableAutopilot = "autopilot-config"

// autopilotRow wraps the configuration with the fixed key memdb indexes.
type autopilotRow struct {
	ID     string
	Config *structs.AutopilotConfig
}

const autopilotRowID = "autopilot"

func init() {
	registerTable(func() *memdb.TableSchema {
		return &memdb.TableSchema{
			Name: tableAutopilot,
			Indexes: map[string]*memdb.IndexSchema{
				"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			},
		}
	})
}

// AutopilotConfig returns the stored configuration, or nil before the
// first leader has seeded it.
func (s *Store) AutopilotConfig() (uint64, *structs.AutopilotConfig, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	return autopilotConfigTxn(tx)
}

func autopilotConfigTxn(tx *memdb.Txn) (uint64, *structs.AutopilotConfig, error) {
	raw, err := tx.First(tableAutopilot, "id", autopilotRowID)
	if err != nil {
		return 0, nil, fmt.Errorf("autopilot config lookup: %w", err)
	}
	if raw == nil {
		return 0, nil, nil
	}
	c := raw.(*autopilotRow).Config
	return c.ModifyIndex, c, nil
}

// AutopilotSetConfig stores cfg at idx. With cas it writes only if the
// stored configuration's ModifyIndex equals cfg.ModifyIndex (0: only if
// none is stored yet), and reports whether it wrote.
func (s *Store) AutopilotSetConfig(idx uint64, cfg *structs.AutopilotConfig, cas bool) (bool, error) {
	tx := s.db.Txn(true)
	defer tx.Abort()
	_, old, err := autopilotConfigTxn(tx)
	if err != nil {
		return false, err
	}
	if cas {
		var have uint64
		if old != nil {
			have = old.ModifyIndex
		}
		if have != cfg.ModifyIndex {
			return false, nil
		}
	}
	c := *cfg
	c.CreateIndex, c.ModifyIndex = idx, idx
	if old != nil {
		c.CreateIndex = old.CreateIndex
	}
	if err := autopilotRestoreTxn(tx, &c); err != nil {
		return false, err
	}
	tx.Commit()
	return true, nil
}

func autopilotRestoreTxn(tx *memdb.Txn, c *structs.AutopilotConfig) error {
	if err := tx.Insert(tableAutopilot, &autopilotRow{ID: autopilotRowID, Config: c}); err != nil {
		return fmt.Errorf("autopilot config insert: %w", err)
	}
	return setIndexTxn(tx, tableAutopilot, c.ModifyIndex)
}

// AutopilotConfig returns the view's configuration, or nil.
func (sn *Snapshot) AutopilotConfig() (*structs.AutopilotConfig, error) {
	_, c, err := autopilotConfigTxn(sn.tx)
	return c, err
}

// AutopilotConfig restores the configuration as it was, indexes included.
func (r *Restore) AutopilotConfig(c *structs.AutopilotConfig) error {
	return autopilotRestoreTxn(r.tx, c)
}
