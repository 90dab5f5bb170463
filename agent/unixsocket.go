package agent

import (
	"fmt"
	"os"
	"os/user"
	"strconv"

	"conclave/agent/config"
)

// setSocketOwner applies unix_sockets { mode user group } to a socket
// file the agent listens on, as Consul does, so that only the users it
// names can reach the agent through it.
func setSocketOwner(path string, us config.UnixSockets) error {
	if us.User != "" || us.Group != "" {
		uid, gid := -1, -1 // -1: leave as it is
		if us.User != "" {
			id, err := lookupID(us.User, func(n string) (string, error) {
				u, err := user.Lookup(n)
				if err != nil {
					return "", err
				}
				return u.Uid, nil
			})
			if err != nil {
				return fmt.Errorf("unix_sockets.user %q: %w", us.User, err)
			}
			uid = id
		}
		if us.Group != "" {
			id, err := lookupID(us.Group, func(n string) (string, error) {
				g, err := user.LookupGroup(n)
				if err != nil {
					return "", err
				}
				return g.Gid, nil
			})
			if err != nil {
				return fmt.Errorf("unix_sockets.group %q: %w", us.Group, err)
			}
			gid = id
		}
		if err := os.Chown(path, uid, gid); err != nil {
			return fmt.Errorf("unix socket %s: %w", path, err)
		}
	}
	if us.Mode != "" {
		mode, err := strconv.ParseUint(us.Mode, 8, 32) // checked by config
		if err != nil {
			return fmt.Errorf("unix_sockets.mode %q: %w", us.Mode, err)
		}
		if err := os.Chmod(path, os.FileMode(mode)); err != nil {
			return fmt.Errorf("unix socket %s: %w", path, err)
		}
	}
	return nil
}

// lookupID reads a numeric ID, or looks a name up.
func lookupID(s string, byName func(string) (string, error)) (int, error) {
	if id, err := strconv.Atoi(s); err == nil {
		return id, nil
	}
	idStr, err := byName(s)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(idStr)
}
