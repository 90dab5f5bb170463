package commands

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"conclave/internal/lockcheck"
	"conclave/internal/testutil"
)

// TestLockSafetyUnderLeaderLoss runs five `lock` loops at once through the
// two client agents of a three-server cluster, for a lock and for a
// semaphore of 3, and shuts the leader down while they run. The children's
// records must never show more holders than allowed; a child stopped by
// the fence records its stop from its TERM trap.
func TestLockSafetyUnderLeaderLoss(t *testing.T) {
	t.Parallel()
	c := testutil.NewCluster(t, testutil.ClusterOptions{Servers: 3, Clients: 2})
	for _, a := range c.Clients {
		testutil.WaitForSerfHealth(t, a)
	}
	for _, limit := range []int{1, 3} {
		log := filepath.Join(t.TempDir(), "log")
		const runners, rounds = 5, 4
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			codes = map[int]int{}
		)
		for r := range runners {
			addr := "-http-addr=" + c.Clients[r%len(c.Clients)].HTTPAddr()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range rounds {
					id := fmt.Sprintf("%d.%d", r, i)
					hold := fmt.Sprintf("0.%02d", 5+rand.IntN(15))
					child := fmt.Sprintf("trap 'echo stop %s >> %s; exit 143' TERM; echo start %s >> %s; sleep %s & wait; echo stop %s >> %s",
						id, log, id, log, hold, id, log)
					got := runCLI(t, run{args: []string{"lock", addr, fmt.Sprintf("-n=%d", limit), "locks/safety", child}})
					mu.Lock()
					codes[got.code]++
					mu.Unlock()
					if got.code != 0 && got.code != ExitLockLost {
						t.Errorf("-n %d: run %s = %+v, want exit 0 (or %d when fenced)", limit, id, got, ExitLockLost)
					}
				}
			}()
		}
		if limit == 1 {
			// Let the first holders in, then take the leader away.
			testutil.Retry(t, 30*time.Second, func() error {
				data, _ := os.ReadFile(log)
				if strings.Count(string(data), "stop") < 2 {
					return fmt.Errorf("only %q so far", data)
				}
				return nil
			})
			leader := c.Leader()
			if leader == nil {
				t.Fatal("no leader to shut down")
			}
			if err := leader.Shutdown(); err != nil {
				t.Fatalf("shutting the leader down: %v", err)
			}
		}
		wg.Wait()
		data, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		if err := lockcheck.Check(string(data), limit); err != nil {
			t.Errorf("-n %d: %v\n%s", limit, err, data)
		}
		if n := strings.Count(string(data), "start"); n != runners*rounds {
			t.Errorf("-n %d: %d children started, want %d (exit codes %v)", limit, n, runners*rounds, codes)
		}
	}
}
