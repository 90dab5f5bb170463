package agent

import (
	"context"
	"math/rand/v2"
	"time"

	"conclave/agent/structs"
)

// syncCoordinates sends this agent's LAN coordinate to the servers until
// shutdown, spacing the updates so the whole pool sends about
// sync_coordinate_rate_target per second, each agent at most once per
// sync_coordinate_interval_min, with a random stagger so that agents
// started together do not send together.
func (a *Agent) syncCoordinates() {
	cc := a.config.Coordinates
	// ctx ends an update in flight when the agent shuts down.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-a.cluster.shutdownCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		intv := coordinateInterval(cc.SyncCoordinateRateTarget, cc.SyncCoordinateIntervalMin, len(a.delegate.LANMembers()))
		t := time.NewTimer(intv + rand.N(intv))
		select {
		case <-a.cluster.shutdownCh:
			t.Stop()
			return
		case <-t.C:
		}
		a.sendCoordinate(ctx)
	}
}

// coordinateInterval is n/rate seconds, never below min.
func coordinateInterval(rate float64, min time.Duration, n int) time.Duration {
	if rate <= 0 {
		rate = 64
	}
	if min <= 0 {
		min = time.Second
	}
	return max(min, time.Duration(float64(n)/rate*float64(time.Second)))
}

// sendCoordinate makes one update; a failure is logged and the next turn
// sends again.
func (a *Agent) sendCoordinate(ctx context.Context) {
	coord, err := a.delegate.LANCoordinate()
	if err != nil {
		a.logger.Debug("no LAN coordinate to send", "error", err)
		return
	}
	req := &structs.CoordinateUpdateRequest{Datacenter: a.config.Datacenter, Node: a.config.NodeName, Coord: coord}
	if err := a.delegate.RPC(ctx, "Coordinate.Update", req, &struct{}{}); err != nil {
		a.logger.Warn("coordinate update failed", "error", err)
	}
}
