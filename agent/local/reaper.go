package local

import (
	"time"
)

// RunReaper removes services whose check has stayed critical longer than
// its deregister_critical_service_after, every interval, until stop is
// closed. remove is called at most once per service per round (the agent
// passes a function that also stops the service's runners and forgets its
// persisted definition). Consul reaps every 30 seconds.
func RunReaper(stop <-chan struct{}, s *State, interval time.Duration, remove func(serviceID, checkID string, criticalFor time.Duration)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		reaped := map[string]bool{}
		for _, c := range s.CriticalChecks(time.Now()) {
			if reaped[c.ServiceID] || c.CriticalFor <= c.DeregisterAfter {
				continue
			}
			reaped[c.ServiceID] = true
			remove(c.ServiceID, c.CheckID, c.CriticalFor)
		}
	}
}
