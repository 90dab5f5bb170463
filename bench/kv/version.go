package main

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// etcdVersion returns "v3.4.23" or "" from `etcd --version`.
func etcdVersion(bin string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "etcd Version:"); ok {
			return "v" + strings.TrimSpace(v)
		}
	}
	return ""
}
