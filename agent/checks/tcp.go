package checks

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"

	"conclave/agent/structs"
)

// TCP connects to Address every Interval: a connection accepted within
// Timeout is passing, anything else critical. With a host name that
// resolves to several addresses, the first accepted connection counts.
type TCP struct {
	CheckID string
	// Address is host:port.
	Address  string
	Interval time.Duration
	// Timeout bounds one connection attempt; default 10s.
	Timeout time.Duration

	Notify Notifier
	Logger hclog.Logger

	loop *loop
}

// Start begins probing.
func (c *TCP) Start() {
	c.Logger = loggerOr(c.Logger)
	c.loop = startLoop(c.Interval, c.probe)
}

// Stop ends probing.
func (c *TCP) Stop() {
	if c.loop != nil {
		c.loop.stop()
	}
}

func (c *TCP) probe(ctx context.Context) {
	status, output := c.Check(ctx)
	if ctx.Err() != nil {
		return
	}
	c.Notify.UpdateCheck(c.CheckID, status, output)
}

// Check runs one probe.
func (c *TCP) Check(ctx context.Context) (status, output string) {
	d := net.Dialer{Timeout: orDefault(c.Timeout, DefaultTimeout)}
	conn, err := d.DialContext(ctx, "tcp", c.Address)
	if err != nil {
		c.Logger.Debug("check socket connection failed", "check", c.CheckID, "address", c.Address, "error", err)
		return structs.HealthCritical, err.Error()
	}
	_ = conn.Close()
	return structs.HealthPassing, fmt.Sprintf("TCP connect %s: Success", c.Address)
}
