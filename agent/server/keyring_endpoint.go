package server

import (
	"fmt"
	"slices"

	"github.com/hashicorp/serf/serf"

	"conclave/agent/acl"
	"conclave/agent/structs"
)

// Internal serves what agents ask of servers that is not data: the gossip
// keyring.
type Internal struct{ srv *Server }

// The server an agent asks fans the operation out itself (below), so it
// is never forwarded to a leader; ?dc still picks the datacenter whose
// server does the fanning out.
func (*Internal) routes() map[string]route {
	return map[string]route{"KeyringOperation": routeDC}
}

// KeyringOperation lists, installs, uses or removes a gossip key on the
// WAN pool and on the LAN pool of every datacenter this server knows,
// as Consul does, so one request rotates the key everywhere. serf's key
// manager does the work in each pool: it asks every member and counts
// their answers. A forwarded request (from the server that fans out)
// touches only this datacenter's LAN pool.
func (in *Internal) KeyringOperation(authz acl.Authorizer, args *structs.KeyringRequest, reply *structs.KeyringResponses) error {
	s := in.srv
	allowed := authz.KeyringWrite()
	if args.Operation == structs.KeyringList {
		allowed = authz.KeyringRead()
	}
	if !allowed {
		return structs.ErrPermissionDenied
	}
	if args.Forwarded {
		reply.Responses = []*structs.KeyringResponse{keyringOp(s.serfLANPool(), args, s.config.Datacenter, false)}
		return nil
	}
	var out []*structs.KeyringResponse
	if wan := s.cluster.serfWAN; wan != nil {
		out = append(out, keyringOp(wan, args, s.config.Datacenter, true))
	}
	dcs := []string{s.config.Datacenter}
	if r := s.cluster.router; r != nil {
		for _, dc := range r.Datacenters() {
			if !slices.Contains(dcs, dc) {
				dcs = append(dcs, dc)
			}
		}
	}
	for _, dc := range dcs {
		fwd := *args
		fwd.Forwarded = true
		fwd.Datacenter = dc
		var resp structs.KeyringResponses
		var err error
		if dc == s.config.Datacenter {
			err = in.KeyringOperation(authz, &fwd, &resp)
		} else {
			err = s.forwardDC(args.Context(), dc, "Internal.KeyringOperation", &fwd, &resp)
		}
		if err != nil {
			resp.Responses = []*structs.KeyringResponse{{Datacenter: dc, Error: err.Error()}}
		}
		out = append(out, resp.Responses...)
	}
	reply.Responses = out
	return nil
}

// serfLANPool is this server's LAN pool (nil before gossip starts).
func (s *Server) serfLANPool() *serf.Serf { return s.cluster.serfLAN }

// keyringOp runs one operation on one pool.
func keyringOp(sf *serf.Serf, args *structs.KeyringRequest, dc string, wan bool) *structs.KeyringResponse {
	out := &structs.KeyringResponse{WAN: wan, Datacenter: dc}
	if sf == nil {
		out.Error = "gossip is not running on this server"
		return out
	}
	km := sf.KeyManager()
	opts := &serf.KeyRequestOptions{RelayFactor: args.RelayFactor}
	var (
		resp *serf.KeyResponse
		err  error
	)
	switch args.Operation {
	case structs.KeyringList:
		resp, err = km.ListKeysWithOptions(opts)
	case structs.KeyringInstall:
		resp, err = km.InstallKeyWithOptions(args.Key, opts)
	case structs.KeyringUse:
		resp, err = km.UseKeyWithOptions(args.Key, opts)
	case structs.KeyringRemove:
		resp, err = km.RemoveKeyWithOptions(args.Key, opts)
	default:
		err = fmt.Errorf("unknown keyring operation %q", args.Operation)
	}
	if resp != nil {
		out.Messages = resp.Messages
		out.Keys = resp.Keys
		out.PrimaryKeys = resp.PrimaryKeys
		out.NumNodes = resp.NumNodes
	}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}
