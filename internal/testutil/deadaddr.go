package testutil

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// DeadAddr returns a 127.0.0.1 host:port where a connection is refused for
// as long as the test runs. A port that is merely "free right now" may be
// taken by any parallel test a moment later; this one is bound (without
// listening and without SO_REUSEADDR), so nobody else can listen on it and
// the kernel never hands it out for :0. It is released in t.Cleanup.
func DeadAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind 127.0.0.1:0: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		t.Fatalf("getsockname = %T, want an IPv4 address", sa)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(in4.Port))
	// Prove the promise before a test builds on it.
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatalf("%s accepted a connection, want it refused", addr)
	}
	return addr
}
