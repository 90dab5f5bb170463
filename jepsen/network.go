package jepsen

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// Network places the nodes of a cluster: the addresses each uses, the
// command prefix that runs it where it belongs, and how to cut it off.
type Network interface {
	// Place returns node i's cluster (bind) IP, HTTP (client) IP, ports
	// and command prefix.
	Place(i int) (bindIP, clientIP string, ports Ports, prefix []string, err error)
	// Isolate cuts node i off from every other node; the test still
	// reaches its HTTP API. Heal undoes it.
	Isolate(i int) error
	Heal(i int) error
	// CanPartition tells whether Isolate works on this network.
	CanPartition() bool
	// Close removes what the network set up.
	Close() error
}

// Loopback puts node i on 127.0.0.<i+1> with kernel-chosen free ports, so
// that runs do not collide with each other or with agents on the default
// ports. It cannot partition.
type Loopback struct{}

// Place implements Network.
func (Loopback) Place(i int) (string, string, Ports, []string, error) {
	if i > 250 {
		return "", "", Ports{}, nil, fmt.Errorf("loopback network: node %d out of range", i)
	}
	ip := fmt.Sprintf("127.0.0.%d", i+1)
	p, err := freePorts(ip)
	return ip, ip, p, nil, err
}

// Isolate implements Network.
func (Loopback) Isolate(int) error { return errors.New("loopback network cannot partition") }

// Heal implements Network.
func (Loopback) Heal(int) error { return nil }

// CanPartition implements Network.
func (Loopback) CanPartition() bool { return false }

// Close implements Network.
func (Loopback) Close() error { return nil }

// NetNS gives every node a Linux network namespace of its own (needs root
// and iproute2). Each namespace has two links:
//
//   - a cluster link (veth) on a bridge shared by the nodes only, 10.A.B.0/24,
//     which carries gossip, raft and RPC;
//   - a client link on a second bridge, 10.A.B+1.0/24, which also holds
//     10.A.B+1.254 in the test's own namespace, so the test reaches every
//     node's HTTP API whatever happens to the cluster links.
//
// Isolate detaches a node's cluster veth from its bridge: packets to and
// from it vanish without an error, as on a cut cable. Agents use Consul's
// default ports, since each namespace has its own.
type NetNS struct {
	id      string // unique per run; prefixes every name
	subnetA int
	subnetB int
	n       int

	mu      sync.Mutex
	created []func() error // undo steps, run in reverse
}

// NetNSAvailable reports why network namespaces cannot be used here, or nil.
func NetNSAvailable() error {
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("the ip command (iproute2) is not installed; `make test-deps` installs it")
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		return fmt.Errorf("`ip netns list` failed: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// NewNetNS creates the bridges, namespaces and links for n nodes. Every
// name carries a random run id, and Close removes them all.
func NewNetNS(n int) (_ *NetNS, err error) {
	if n < 1 || n > 200 {
		return nil, fmt.Errorf("netns: %d nodes is out of range", n)
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	nn := &NetNS{id: "cj" + hex.EncodeToString(b[:]), n: n}
	if err := nn.pickSubnet(b); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			nn.Close()
		}
	}()
	cb, hb := nn.id+"c", nn.id+"h"
	for _, br := range []string{cb, hb} {
		if err := nn.do(undo("ip", "link", "del", br), "ip", "link", "add", br, "type", "bridge"); err != nil {
			return nil, err
		}
		if err := run("ip", "link", "set", br, "up"); err != nil {
			return nil, err
		}
	}
	if err := run("ip", "addr", "add", fmt.Sprintf("%s/24", nn.hostIP(254)), "dev", hb); err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		ns := nn.NS(i)
		if err := nn.do(undo("ip", "netns", "del", ns), "ip", "netns", "add", ns); err != nil {
			return nil, err
		}
		if err := run("ip", "-n", ns, "link", "set", "lo", "up"); err != nil {
			return nil, err
		}
		for _, l := range []struct {
			host, inner, bridge, ip string
		}{
			{nn.clusterVeth(i), "cluster0", cb, nn.clusterIP(i + 1)},
			{fmt.Sprintf("%s-h%d", nn.id, i), "client0", hb, nn.hostIP(i + 1)},
		} {
			// Deleting the host end removes the inner end too.
			if err := nn.do(undo("ip", "link", "del", l.host), "ip", "link", "add", l.host, "type", "veth", "peer", "name", l.inner, "netns", ns); err != nil {
				return nil, err
			}
			for _, cmd := range [][]string{
				{"ip", "link", "set", l.host, "master", l.bridge},
				{"ip", "link", "set", l.host, "up"},
				{"ip", "-n", ns, "addr", "add", l.ip + "/24", "dev", l.inner},
				{"ip", "-n", ns, "link", "set", l.inner, "up"},
			} {
				if err := run(cmd...); err != nil {
					return nil, err
				}
			}
		}
	}
	return nn, nil
}

// pickSubnet chooses 10.A.B.0/24 and 10.A.B+1.0/24 that no interface here
// uses yet, starting from random bytes.
func (nn *NetNS) pickSubnet(seed [3]byte) error {
	out, err := exec.Command("ip", "-4", "-o", "addr", "show").CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip addr show: %v: %s", err, out)
	}
	addrs := string(out)
	for k := 0; k < 256; k++ {
		a := 100 + (int(seed[0])+k)%150
		b := 2 * ((int(seed[1]) + k) % 127)
		if !strings.Contains(addrs, fmt.Sprintf(" 10.%d.%d.", a, b)) && !strings.Contains(addrs, fmt.Sprintf(" 10.%d.%d.", a, b+1)) {
			nn.subnetA, nn.subnetB = a, b
			return nil
		}
	}
	return errors.New("netns: no free 10.x subnet")
}

// NS is node i's namespace name.
func (nn *NetNS) NS(i int) string { return fmt.Sprintf("%s-n%d", nn.id, i) }

func (nn *NetNS) clusterVeth(i int) string { return fmt.Sprintf("%s-c%d", nn.id, i) }

func (nn *NetNS) clusterIP(host int) string {
	return fmt.Sprintf("10.%d.%d.%d", nn.subnetA, nn.subnetB, host)
}

func (nn *NetNS) hostIP(host int) string {
	return fmt.Sprintf("10.%d.%d.%d", nn.subnetA, nn.subnetB+1, host)
}

// Place implements Network.
func (nn *NetNS) Place(i int) (string, string, Ports, []string, error) {
	if i < 0 || i >= nn.n {
		return "", "", Ports{}, nil, fmt.Errorf("netns: node %d out of range", i)
	}
	return nn.clusterIP(i + 1), nn.hostIP(i + 1), DefaultPorts, []string{"ip", "netns", "exec", nn.NS(i)}, nil
}

// Isolate implements Network: node i's cluster link leaves the bridge.
func (nn *NetNS) Isolate(i int) error {
	return run("ip", "link", "set", nn.clusterVeth(i), "nomaster")
}

// Heal implements Network: node i's cluster link rejoins the bridge.
func (nn *NetNS) Heal(i int) error {
	return run("ip", "link", "set", nn.clusterVeth(i), "master", nn.id+"c")
}

// CanPartition implements Network.
func (nn *NetNS) CanPartition() bool { return true }

// Close implements Network: it removes every namespace, link and bridge it
// created, even after a partial set-up, and reports what it could not.
func (nn *NetNS) Close() error {
	nn.mu.Lock()
	steps := nn.created
	nn.created = nil
	nn.mu.Unlock()
	var errs []error
	for i := len(steps) - 1; i >= 0; i-- {
		if err := steps[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// do runs a command that creates something and remembers how to remove it.
func (nn *NetNS) do(rm func() error, argv ...string) error {
	if err := run(argv...); err != nil {
		return err
	}
	nn.mu.Lock()
	nn.created = append(nn.created, rm)
	nn.mu.Unlock()
	return nil
}

// undo returns a removal step that tolerates the thing being gone already
// (a namespace's veth ends vanish with it).
func undo(argv ...string) func() error {
	return func() error {
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "Cannot find device") &&
			!strings.Contains(string(out), "No such file") && !strings.Contains(string(out), "does not exist") {
			return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
}

func run(argv ...string) error {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
