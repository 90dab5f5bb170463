package config

import "time"

// CoordinateConfig tunes how network coordinates travel from agents to
// the servers, with Consul's keys.
type CoordinateConfig struct {
	// SyncCoordinateRateTarget is the cluster-wide number of coordinate
	// updates per second the agents aim at together
	// (sync_coordinate_rate_target, default 64): each agent sends its
	// own every LAN-size / target seconds, at least
	// SyncCoordinateIntervalMin apart. Zero or less is the default.
	SyncCoordinateRateTarget float64 `mapstructure:"sync_coordinate_rate_target"`
	// SyncCoordinateIntervalMin is the shortest time between two updates
	// of one agent (sync_coordinate_interval_min, default 15s).
	SyncCoordinateIntervalMin time.Duration `mapstructure:"sync_coordinate_interval_min" check:"positive"`
	// Consul is Consul's (undocumented, test-oriented) consul { coordinate
	// { ... } } block: how the leader batches the updates into raft.
	Consul ConsulTuning `mapstructure:"consul"`
}

// ConsulTuning is the consul block.
type ConsulTuning struct {
	Coordinate CoordinateBatching `mapstructure:"coordinate"`
}

// CoordinateBatching is consul { coordinate { ... } }.
type CoordinateBatching struct {
	// UpdatePeriod is how often the leader writes the updates it has
	// collected (update_period, default 5s).
	UpdatePeriod time.Duration `mapstructure:"update_period" check:"positive"`
	// UpdateBatchSize is the most updates one raft entry carries
	// (update_batch_size, default 128).
	UpdateBatchSize int `mapstructure:"update_batch_size" check:"positive"`
	// UpdateMaxBatches is the most entries one period writes; updates
	// beyond them are dropped until the next (update_max_batches,
	// default 5), so a flood of agents cannot swamp raft.
	UpdateMaxBatches int `mapstructure:"update_max_batches" check:"positive"`
}

func defaultCoordinates() CoordinateConfig {
	return CoordinateConfig{
		SyncCoordinateRateTarget:  64,
		SyncCoordinateIntervalMin: 15 * time.Second,
		Consul: ConsulTuning{Coordinate: CoordinateBatching{
			UpdatePeriod:     5 * time.Second,
			UpdateBatchSize:  128,
			UpdateMaxBatches: 5,
		}},
	}
}
