package http

import (
	"io"
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

func (h *Handler) kvsGet(w gohttp.ResponseWriter, r *gohttp.Request, key string) (any, error) {
	if key == "" {
		// As Consul: reading the whole store takes ?recurse or ?keys.
		return nil, badRequest("Missing key name")
	}
	args := structs.KeyRequest{Datacenter: parseDC(r), Key: key}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedDirEntries
	if err := h.backend.RPC(r.Context(), "KVS.Get", &args, &out); err != nil {
		return nil, err
	}
	setMeta(w, &args.QueryOptions, &out.QueryMeta)
	if len(out.Entries) == 0 {
		w.WriteHeader(gohttp.StatusNotFound)
		return nil, nil
	}
	if _, raw := queryOf(r)["raw"]; raw {
		// The value is the user's bytes: never let a browser sniff it into
		// something executable.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(out.Entries[0].Value)
		return nil, nil
	}
	return out.Entries, nil
}

func (h *Handler) kvsList(w gohttp.ResponseWriter, r *gohttp.Request, prefix string) (any, error) {
	args := structs.KeyListRequest{Datacenter: parseDC(r), Prefix: prefix}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedDirEntries
	if err := h.backend.RPC(r.Context(), "KVS.List", &args, &out); err != nil {
		return nil, err
	}
	setMeta(w, &args.QueryOptions, &out.QueryMeta)
	if len(out.Entries) == 0 {
		w.WriteHeader(gohttp.StatusNotFound)
		return nil, nil
	}
	return out.Entries, nil
}

func (h *Handler) kvsKeys(w gohttp.ResponseWriter, r *gohttp.Request, prefix string) (any, error) {
	args := structs.KeyListRequest{Datacenter: parseDC(r), Prefix: prefix, Separator: queryOf(r).Get("separator")}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.IndexedKeyList
	if err := h.backend.RPC(r.Context(), "KVS.ListKeys", &args, &out); err != nil {
		return nil, err
	}
	setMeta(w, &args.QueryOptions, &out.QueryMeta)
	if len(out.Keys) == 0 {
		w.WriteHeader(gohttp.StatusNotFound)
		return nil, nil
	}
	return out.Keys, nil
}

func (h *Handler) kvsPut(r *gohttp.Request, key string) (any, error) {
	vals := queryOf(r)
	if _, ok := vals["acquire"]; ok {
		return nil, badRequest("Invalid session %q: no session exists", vals.Get("acquire"))
	}
	if _, ok := vals["release"]; ok {
		return nil, badRequest("Invalid session %q: no session exists", vals.Get("release"))
	}
	args := structs.KVSRequest{Datacenter: parseDC(r), Op: structs.KVSet}
	args.Token = token(r)
	args.DirEnt.Key = key
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

// readValue reads a KV body, refusing one over the limit without reading
// it all.
func readValue(r *gohttp.Request) ([]byte, error) {
	if r.ContentLength > structs.MaxKVSize {
		return nil, tooLarge("Request body (%d bytes) too large: values are limited to %d bytes", r.ContentLength, structs.MaxKVSize)
	}
	var buf []byte
	var err error
	if n := r.ContentLength; n >= 0 {
		// The common case: the size is known, read it in one allocation
		// (io.ReadAll would grow a buffer from 512 bytes).
		buf = make([]byte, n)
		_, err = io.ReadFull(r.Body, buf)
	} else {
		buf, err = io.ReadAll(io.LimitReader(r.Body, structs.MaxKVSize+1))
	}
	if err != nil {
		return nil, badRequest("Failed to read body: %v", err)
	}
	if len(buf) > structs.MaxKVSize {
		return nil, tooLarge("Request body too large: values are limited to %d bytes", structs.MaxKVSize)
	}
	return buf, nil
}

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
