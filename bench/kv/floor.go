package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The floor scenario measures what the HTTP exchange alone costs: the same
// load, drivers and interleaved rounds as the kv scenario, with conclave
// replaced by a server that does no work at all. It is Go's net/http
// server (conclave's), answering a PUT with `true` and a GET with one
// fixed entry and the X-Consul-* headers a real answer carries, so both
// drivers parse what they parse against conclave. Its CPU per operation,
// server plus driver, is the least any server on net/http can cost on
// this machine; set beside etcd's whole PUT it shows how much is left for
// the raft log, the fsync and the state store, which is what decides
// whether conclave can lead etcd here at all. Its p99 is a floor too:
// with 256 clients each on its own HTTP/1.1 connection, the spread of an
// exchange's latency comes from the transport and the two processes'
// schedulers more than from the work behind it, and a server that makes
// each answer a durable write cannot expect a tighter tail than this one
// (bench/README.md, "Fifth round"). It is a measurement, with no target of
// its own.

// floorEnv names the environment variable that turns kvbench into the
// floor server (the scenario starts itself again with it, so that the
// server's CPU is counted apart from the driver's).
const floorEnv = "KVBENCH_FLOOR_ADDR"

// serveFloor runs the floor server on addr until the process is stopped.
func serveFloor(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	appJSON := []string{"application/json"}
	value := base64.StdEncoding.EncodeToString(makeValue(128))
	srv := &http.Server{
		// conclave's own setting; it sets a read deadline per request.
		ReadHeaderTimeout: 30 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, ok := strings.CutPrefix(r.URL.Path, "/v1/kv/")
			if !ok {
				http.NotFound(w, r)
				return
			}
			switch r.Method {
			case http.MethodPut:
				if _, err := io.ReadAll(r.Body); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				w.Header()["Content-Type"] = appJSON
				_, _ = io.WriteString(w, "true")
			case http.MethodGet:
				h := w.Header()
				h["Content-Type"] = appJSON
				h["X-Consul-Index"] = []string{"7"}
				h["X-Consul-Knownleader"] = []string{"true"}
				h["X-Consul-Lastcontact"] = []string{"0"}
				h["X-Consul-Effective-Consistency"] = []string{"leader"}
				_, _ = fmt.Fprintf(w, `[{"LockIndex":0,"Key":%q,"Flags":0,"Value":%q,"CreateIndex":7,"ModifyIndex":7}]`, key, value)
			default:
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			}
		}),
	}
	return srv.Serve(ln)
}

// runFloorScenario loads etcd and the floor server interleaved, as the kv
// scenario loads etcd and conclave.
func (b *bench) runFloorScenario(ctx context.Context) int {
	b.o.skipDev = true // the -dev figures belong to the kv scenario
	fmt.Printf("HTTP floor: %d clients, %d-byte values; \"floor\" is an empty net/http server in conclave's place (no raft, no disk, no state), %d CPUs\n",
		b.o.clients, b.o.valueSize, numCPU())
	return b.compare(ctx, " floor", b.startEtcd, b.startFloor)
}

// startFloor starts the floor server in a process of its own and points
// the raw driver at it (withAPIDriver adds the official client).
func (b *bench) startFloor(ctx context.Context, s *sut) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	port, err := ports.get()
	if err != nil {
		return err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	p, err := startProcEnv("floor", b.root, filepath.Join(b.root, "floor.log"), []string{floorEnv + "=127.0.0.1:" + strconv.Itoa(port)}, self)
	if err != nil {
		return err
	}
	b.track(p)
	s.procs = append(s.procs, p)

	t := b.newHTTPTarget(s, base)
	err = waitFor(ctx, p, 10*time.Second, 20*time.Millisecond, func(ctx context.Context) error {
		_, status, err := doHTTP(ctx, t.hc, http.MethodPut, base+"/v1/kv/bench/ready", []byte("1"))
		if err == nil && status != http.StatusOK {
			err = fmt.Errorf("HTTP %d", status)
		}
		return err
	})
	if err != nil {
		return err
	}
	s.target = t
	return nil
}
