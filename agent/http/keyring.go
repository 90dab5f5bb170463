package http

import (
	gohttp "net/http"
	"strconv"

	"conclave/agent/structs"
)

// keyringOps are the methods of /v1/operator/keyring, as in Consul.
var keyringOps = map[string]structs.KeyringOp{
	gohttp.MethodGet:    structs.KeyringList,
	gohttp.MethodPost:   structs.KeyringInstall,
	gohttp.MethodPut:    structs.KeyringUse,
	gohttp.MethodDelete: structs.KeyringRemove,
}

// operatorKeyring serves /v1/operator/keyring: GET lists the gossip keys
// of every pool (?local-only: this datacenter's LAN pool), POST installs,
// PUT makes primary and DELETE removes the key of the body {"Key": ...}.
// A pool that failed makes the whole request fail (500), with every
// pool's complaint in the text.
func (h *Handler) operatorKeyring(_ gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	vals := queryOf(r)
	args := structs.KeyringRequest{Operation: keyringOps[r.Method], Datacenter: parseDC(r)}
	args.Token = token(r)
	if v := vals.Get("relay-factor"); v != "" {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return nil, badRequest("Error parsing relay factor: %v", err)
		}
		args.RelayFactor = uint8(n)
	}
	if _, ok := vals["local-only"]; ok {
		if args.Operation != structs.KeyringList {
			return nil, badRequest("local-only can only be used for list operations")
		}
		args.Forwarded = vals.Get("local-only") != "false"
	}
	if args.Operation != structs.KeyringList {
		var body struct{ Key string }
		if err := decodeCatalogBody(r, &body); err != nil {
			return nil, err
		}
		args.Key = body.Key
	}
	var out structs.KeyringResponses
	if err := h.backend.RPC(r.Context(), "Internal.KeyringOperation", &args, &out); err != nil {
		return nil, err
	}
	if err := out.Err(); err != nil {
		return nil, err
	}
	if args.Operation != structs.KeyringList {
		return nil, nil
	}
	return out.Responses, nil
}
