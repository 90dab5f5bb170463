package lockcheck

import (
	"bufio"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Check reads log and returns an error when more than limit children ever
// ran at once, a child stopped without starting, started twice, or a line
// is no record. The time after the id, when there is one, only helps a
// reader of the error; the order of the lines is what counts.
func Check(log string, limit int) error {
	running := map[string]int{} // id -> line of its start
	sc := bufio.NewScanner(strings.NewReader(log))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || len(f) > 3 {
			return fmt.Errorf("line %d: %q is no record", n, sc.Text())
		}
		what, id := f[0], f[1]
		_, on := running[id]
		switch {
		case what == "start" && on:
			return fmt.Errorf("line %d: %q started again without a stop", n, sc.Text())
		case what == "start":
			running[id] = n
			if len(running) > limit {
				return fmt.Errorf("line %d: %q makes %d children running at once %v, limit %d",
					n, sc.Text(), len(running), slices.Sorted(maps.Keys(running)), limit)
			}
		case what == "stop" && on:
			delete(running, id)
		default:
			return fmt.Errorf("line %d: %q without a start", n, sc.Text())
		}
	}
	return sc.Err()
}
