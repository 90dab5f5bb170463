package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
)

// apiSystem names conclave driven by the official Consul Go client, the
// second conclave driver beside the raw net/http one (httpTarget). Users
// run the client, not hand-built requests, so its figures count too, and
// the verdict is the worse of the two drivers.
const apiSystem = "conclave-api"

// apiTarget loads conclave through github.com/hashicorp/consul/api
// (KV().Put and KV().Get), one client per server address, each key sent
// to the server the raw driver sends it to.
type apiTarget struct {
	kvs     map[string]*api.KV // key -> the KV endpoint of its server
	closers []func()
}

// newAPITarget builds the client-driven twin of t, for n concurrent
// clients: same servers, same key-to-server mapping.
func newAPITarget(t *httpTarget, n int) (*apiTarget, error) {
	a := &apiTarget{kvs: make(map[string]*api.KV, len(t.urls))}
	byBase := map[string]*api.KV{}
	for key, url := range t.urls {
		base, ok := strings.CutSuffix(url, "/v1/kv/"+key)
		if !ok {
			return nil, fmt.Errorf("url %q of key %q has no /v1/kv/ path", url, key)
		}
		kv := byBase[base]
		if kv == nil {
			tr := newTransport(n)
			a.closers = append(a.closers, tr.CloseIdleConnections)
			c, err := api.NewClient(&api.Config{
				Address:    base,
				HttpClient: &http.Client{Transport: tr, Timeout: 10 * time.Second},
			})
			if err != nil {
				return nil, fmt.Errorf("consul api client for %s: %w", base, err)
			}
			kv = c.KV()
			byBase[base] = kv
		}
		a.kvs[key] = kv
	}
	return a, nil
}

func (a *apiTarget) name() string { return apiSystem }

func (a *apiTarget) put(ctx context.Context, key string, value []byte) error {
	_, err := a.kvs[key].Put(&api.KVPair{Key: key, Value: value}, (&api.WriteOptions{}).WithContext(ctx))
	return err
}

// get is a default-consistency read, as the raw driver's.
func (a *apiTarget) get(ctx context.Context, key string) error {
	p, _, err := a.kvs[key].Get(key, (&api.QueryOptions{}).WithContext(ctx))
	if err == nil && p == nil {
		err = fmt.Errorf("GET %s: not found", key)
	}
	return err
}

// withAPIDriver returns the suts to load: the started ones and, for a
// conclave driven by the raw driver, a twin driven by the official client
// against the same processes (its server CPU is theirs; stopping either
// stops them once).
func withAPIDriver(suts []*sut, clients int) ([]*sut, error) {
	out := suts
	for _, s := range suts {
		t, ok := s.target.(*httpTarget)
		if !ok || s.name != "conclave" {
			continue
		}
		a, err := newAPITarget(t, clients)
		if err != nil {
			return suts, err
		}
		out = append(out, &sut{name: apiSystem, target: a, procs: s.procs, closers: a.closers})
	}
	return out, nil
}
