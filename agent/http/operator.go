package http

import (
	gohttp "net/http"

	"conclave/agent/structs"
)

// operatorRaftConfiguration serves GET /v1/operator/raft/configuration:
// the raft peer set, from the leader (or any server with ?stale).
func (h *Handler) operatorRaftConfiguration(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.DCSpecificRequest{Datacenter: parseDC(r)}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.RaftConfigurationResponse
	if err := h.backend.RPC(r.Context(), "Operator.RaftGetConfiguration", &args, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// operatorRaftPeer serves DELETE /v1/operator/raft/peer?id=|address=.
func (h *Handler) operatorRaftPeer(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	vals := queryOf(r)
	args := structs.RaftRemovePeerRequest{
		Datacenter: parseDC(r),
		ID:         vals.Get("id"),
		Address:    vals.Get("address"),
	}
	args.Token = token(r)
	var out struct{}
	return nil, h.backend.RPC(r.Context(), "Operator.RaftRemovePeer", &args, &out)
}

// operatorRaftTransferLeader serves POST /v1/operator/raft/transfer-leader
// (?id= names the new leader): {"Success": true} once leadership moved.
func (h *Handler) operatorRaftTransferLeader(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	args := structs.TransferLeaderRequest{Datacenter: parseDC(r), ID: queryOf(r).Get("id")}
	args.Token = token(r)
	var ok bool
	if err := h.backend.RPC(r.Context(), "Operator.RaftTransferLeader", &args, &ok); err != nil {
		return nil, err
	}
	return map[string]bool{"Success": ok}, nil
}
