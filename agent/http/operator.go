package http

import (
	gohttp "net/http"
	"strings"

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
	if err := args.Validate(); err != nil {
		return nil, badRequest("%s", err.Error())
	}
	var out struct{}
	if err := h.backend.RPC(r.Context(), "Operator.RaftRemovePeer", &args, &out); err != nil {
		if strings.Contains(err.Error(), structs.ErrUnknownPeer.Error()) {
			return nil, &codedError{code: gohttp.StatusNotFound, msg: err.Error()}
		}
		return nil, err
	}
	return nil, nil
}
