package http

import (
	"context"
	gohttp "net/http"
	"strconv"

	"conclave/agent/structs"
)

// kvs serves /v1/kv/<key>.
func (h *Handler) kvs(w gohttp.ResponseWriter, r *gohttp.Request) (any, error) {
	key := r.URL.Path[len("/v1/kv/"):]
	vals := queryOf(r)
	switch r.Method {
	case gohttp.MethodGet:
		if _, ok := vals["keys"]; ok {
			return h.kvsKeys(w, r, key)
		}
		if _, ok := vals["recurse"]; ok {
			return h.kvsList(w, r, key)
		}
		return h.kvsGet(w, r, key)
	case gohttp.MethodPut:
		return h.kvsPut(r, key)
	default: // DELETE
		return h.kvsDelete(r, key)
	}
}

// kvsGet serves GET /v1/kv/<key>: the entry as a one-element list, or its
// value alone with ?raw; 404 when the key does not exist.
func (h *Handler) kvsGet(w gohttp.ResponseWriter, r *gohttp.Request, key string) (any, error) {
	if key == "" {
		// As Consul: reading the whole store takes ?recurse or ?keys.
		return nil, badRequest("Missing key name")
	}
	args := structs.KeyRequest{Datacenter: parseDC(r), Key: key}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	_, raw := queryOf(r)["raw"]
	return h.serveRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedDirEntries
		if err := h.backend.RPC(ctx, "KVS.Get", &args, &out); err != nil {
			return nil, nil, err
		}
		switch {
		case len(out.Entries) == 0:
			return absent{}, &out.QueryMeta, nil
		case raw:
			return rawValue(out.Entries[0].Value), &out.QueryMeta, nil
		}
		return out.Entries, &out.QueryMeta, nil
	})
}

// kvsList serves GET /v1/kv/<prefix>?recurse: every entry under the
// prefix; 404 when there is none.
func (h *Handler) kvsList(w gohttp.ResponseWriter, r *gohttp.Request, prefix string) (any, error) {
	args := structs.KeyListRequest{Datacenter: parseDC(r), Prefix: prefix}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	return h.serveRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedDirEntries
		if err := h.backend.RPC(ctx, "KVS.List", &args, &out); err != nil {
			return nil, nil, err
		}
		return orAbsent(out.Entries), &out.QueryMeta, nil
	})
}

// kvsKeys serves GET /v1/kv/<prefix>?keys[&separator=]: the keys under the
// prefix; 404 when there is none.
func (h *Handler) kvsKeys(w gohttp.ResponseWriter, r *gohttp.Request, prefix string) (any, error) {
	args := structs.KeyListRequest{Datacenter: parseDC(r), Prefix: prefix, Separator: queryOf(r).Get("separator")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	return h.serveRead(w, r, &args.QueryOptions, func(ctx context.Context) (any, *structs.QueryMeta, error) {
		var out structs.IndexedKeyList
		if err := h.backend.RPC(ctx, "KVS.ListKeys", &args, &out); err != nil {
			return nil, nil, err
		}
		return orAbsent(out.Keys), &out.QueryMeta, nil
	})
}

// orAbsent is list, or absent when it is empty.
func orAbsent[S ~[]E, E any](list S) any {
	if len(list) == 0 {
		return absent{}
	}
	return list
}

func (h *Handler) kvsPut(r *gohttp.Request, key string) (any, error) {
	vals := queryOf(r)
	args := structs.KVSRequest{Datacenter: parseDC(r), Op: structs.KVSet}
	args.Token = token(r)
	args.DirEnt.Key = key
	// As Consul reads them: acquire, then release, then cas, the last one
	// given deciding the operation.
	if _, ok := vals["acquire"]; ok {
		args.Op, args.DirEnt.Session = structs.KVLock, vals.Get("acquire")
	}
	if _, ok := vals["release"]; ok {
		args.Op, args.DirEnt.Session = structs.KVUnlock, vals.Get("release")
	}
	if v := vals.Get("flags"); v != "" {
		f, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, badRequest("Invalid flags: %q is not an unsigned integer", v)
		}
		args.DirEnt.Flags = f
	}
	if _, ok := vals["cas"]; ok {
		c, err := strconv.ParseUint(vals.Get("cas"), 10, 64)
		if err != nil {
			return nil, badRequest("Invalid cas index: %q is not an unsigned integer", vals.Get("cas"))
		}
		args.Op, args.DirEnt.ModifyIndex = structs.KVCAS, c
	}
	val, err := readValue(r)
	if err != nil {
		return nil, err
	}
	args.DirEnt.Value = val
	var ok bool
	if err := h.backend.RPC(r.Context(), "KVS.Apply", &args, &ok); err != nil {
		return nil, err
	}
	return ok, nil
}

// readValue reads a KV body; the route's limit is the largest value
// (structs.MaxKVSize).
func readValue(r *gohttp.Request) ([]byte, error) { return readBody(r) }

func (h *Handler) kvsDelete(r *gohttp.Request, key string) (any, error) {
	vals := queryOf(r)
	args := structs.KVSRequest{Datacenter: parseDC(r), Op: structs.KVDelete}
	args.Token = token(r)
	args.DirEnt.Key = key
	if _, ok := vals["recurse"]; ok {
		args.Op = structs.KVDeleteTree
	}
	if _, ok := vals["cas"]; ok {
		if args.Op == structs.KVDeleteTree {
			return nil, badRequest("Conflicting flags: cas cannot be used with recurse")
		}
		c, err := strconv.ParseUint(vals.Get("cas"), 10, 64)
		if err != nil {
			return nil, badRequest("Invalid cas index: %q is not an unsigned integer", vals.Get("cas"))
		}
		args.Op, args.DirEnt.ModifyIndex = structs.KVDeleteCAS, c
	}
	var ok bool
	if err := h.backend.RPC(r.Context(), "KVS.Apply", &args, &ok); err != nil {
		return nil, err
	}
	return ok, nil
}
