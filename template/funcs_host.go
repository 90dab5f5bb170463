package template

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	socktmpl "github.com/hashicorp/go-sockaddr/template"
)

// now is the clock timestamp reads; tests replace it.
var now = func() time.Time { return time.Now().UTC() }

// timestamp is the current UTC time: RFC 3339 by default, else in the Go
// layout given, or seconds since the epoch for "unix".
func timestamp(layout ...string) (string, error) {
	switch len(layout) {
	case 0:
		return now().Format(time.RFC3339), nil
	case 1:
		if layout[0] == "unix" {
			return strconv.FormatInt(now().Unix(), 10), nil
		}
		return now().Format(layout[0]), nil
	}
	return "", fmt.Errorf("timestamp: wrong number of arguments, expected 0 or 1, but got %d", len(layout))
}

// sockaddr evaluates a go-sockaddr template expression, such as
// `sockaddr "GetPrivateIP"`: its arguments joined with spaces are what
// would stand between the braces.
func sockaddr(args ...string) (string, error) {
	return socktmpl.Parse("{{ " + strings.Join(args, " ") + " }}")
}

// writeToFile writes (or with "append" in flags, appends) content to
// path, creating missing directories, and returns "". Owner and group,
// when not "", are names or numeric ids; perms is octal ("0644"). With
// "newline" in flags a newline follows the content. The call is
// `writeToFile path owner group perms [flags] content`, the content last
// so it can come from a pipe.
func writeToFile(path, owner, group, perms string, args ...string) (string, error) {
	if len(args) == 0 || len(args) > 2 {
		return "", fmt.Errorf("writeToFile: wrong number of arguments, expected 5 or 6, but got %d", len(args)+4)
	}
	flags := ""
	if len(args) == 2 {
		flags = args[0]
	}
	content := args[len(args)-1]
	mode, err := strconv.ParseUint(perms, 8, 32)
	if err != nil {
		return "", err
	}
	perm := os.FileMode(mode)

	clean := filepath.Clean(path)
	dir := filepath.Dir(clean)
	if err := os.MkdirAll(dir, os.ModePerm); err != nil {
		return "", err
	}
	// Refuse to follow links, so a template cannot be steered into writing
	// somewhere else by whoever controls the destination directory.
	if fi, err := os.Lstat(dir); err != nil {
		return "", fmt.Errorf("writeToFile: failed to stat directory %q: %w", dir, err)
	} else if fi.Mode()&os.ModeSymlink != 0 {
		return "", fmt.Errorf("writeToFile: refusing to write through symlinked directory in path %q", path)
	}
	if fi, err := os.Lstat(clean); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return "", fmt.Errorf("writeToFile: refusing to write to symlink %q", path)
	} else if err != nil && !os.IsNotExist(err) {
		return "", fmt.Errorf("writeToFile: failed to stat %q: %w", clean, err)
	}

	flag := os.O_WRONLY | os.O_CREATE | openNoFollow
	if strings.Contains(flags, "append") {
		flag |= os.O_APPEND
	} else {
		flag |= os.O_TRUNC
	}
	f, err := os.OpenFile(clean, flag, perm)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if strings.Contains(flags, "newline") {
		content += "\n"
	}
	if _, err := f.WriteString(content); err != nil {
		return "", err
	}
	if owner != "" || group != "" {
		uid, err := lookupID(owner, os.Getuid(), func(n string) (string, error) {
			u, err := user.Lookup(n)
			if err != nil {
				return "", err
			}
			return u.Uid, nil
		})
		if err != nil {
			return "", err
		}
		gid, err := lookupID(group, os.Getgid(), func(n string) (string, error) {
			g, err := user.LookupGroup(n)
			if err != nil {
				return "", err
			}
			return g.Gid, nil
		})
		if err != nil {
			return "", err
		}
		if err := f.Chown(uid, gid); err != nil {
			return "", err
		}
	}
	// Chmod as well: OpenFile's perm only applies to a file it creates.
	if err := f.Chmod(perm); err != nil {
		return "", err
	}
	return "", nil
}

// lookupID resolves an owner or group: "" is def, a known name is its id,
// anything else must be a number.
func lookupID(name string, def int, lookup func(string) (string, error)) (int, error) {
	if name == "" {
		return def, nil
	}
	id, lookupErr := lookup(name)
	if lookupErr != nil {
		n, err := strconv.Atoi(name)
		if err != nil {
			return 0, lookupErr
		}
		return n, nil
	}
	return strconv.Atoi(id)
}
