package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	gohttp "net/http"
	"strings"

	"conclave/agent/structs"
)

// Body limits. Every route that takes a body has one (route.maxBody); a
// body over it is refused with 413 before a byte of it is read when the
// request says its length, and as soon as the limit is passed when it
// does not (chunked). Without the early refusal a client sending a large
// body saw a connection reset or "unexpected EOF" instead of a reason.
const (
	// defaultMaxBody bounds catalog, session and operator bodies: a real
	// one is a few KiB.
	defaultMaxBody = 4 << 20
	// maxDefinitionBody bounds an agent service or check registration: a
	// service with its checks is a few KiB; anything near this is a
	// mistake.
	maxDefinitionBody = 1 << 20
	// maxTxnBody bounds /v1/txn: 64 operations of the largest value,
	// base64 encoded, plus framing.
	maxTxnBody = structs.MaxTxnOps*structs.MaxKVSize*4/3 + 1<<20
)

// errBodyTooLarge is the refusal of a body over its route's limit, in the
// words of Consul's KV and txn refusals.
func errBodyTooLarge(length, limit int64) error {
	if length < 0 {
		return tooLarge("Request body too large, max size: %d bytes", limit)
	}
	return tooLarge("Request body (%d bytes) too large, max size: %d bytes", length, limit)
}

// limitBody refuses a body its length declares too large, or else makes
// reading past the limit fail. It returns the refusal, if any.
func limitBody(w gohttp.ResponseWriter, r *gohttp.Request, limit int64) error {
	if limit <= 0 || r.Body == nil || r.Body == gohttp.NoBody {
		return nil
	}
	if r.ContentLength > limit {
		return errBodyTooLarge(r.ContentLength, limit)
	}
	if r.ContentLength < 0 {
		// Chunked: only a reader that counts can stop it. A declared
		// length is enforced by net/http, which reads no further.
		r.Body = gohttp.MaxBytesReader(w, r.Body, limit)
	}
	return nil
}

// readBody reads the whole request body within its route's limit.
func readBody(r *gohttp.Request) ([]byte, error) {
	var (
		buf []byte
		err error
	)
	if n := r.ContentLength; n >= 0 {
		// The common case: the size is known (and within the limit, which
		// limitBody checked), read it in one allocation; io.ReadAll would
		// grow a buffer from 512 bytes.
		buf = make([]byte, n)
		_, err = io.ReadFull(r.Body, buf)
	} else {
		buf, err = io.ReadAll(r.Body)
	}
	if err != nil {
		return nil, bodyError(err)
	}
	return buf, nil
}

// bodyError is the refusal of a body that could not be read: 413 past the
// limit, else 400.
func bodyError(err error) error {
	var mb *gohttp.MaxBytesError
	if errors.As(err, &mb) {
		return errBodyTooLarge(-1, mb.Limit)
	}
	return badRequest("Failed to read body: %v", err)
}

// decodeJSONBody reads a JSON request body into out; a body that is not
// JSON of the right shape is the client's fault (400, as in Consul:
// "Request decode failed: ..."). An empty body is allowed when emptyOK.
func decodeJSONBody(r *gohttp.Request, out any, emptyOK bool) error {
	buf, err := readBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(buf))) == 0 {
		if emptyOK {
			return nil
		}
		return badRequest("Request decode failed: empty body, want a JSON object")
	}
	if err := json.Unmarshal(buf, out); err != nil {
		return badRequest("Request decode failed: %s", jsonErrorText(err))
	}
	return nil
}

// jsonErrorText says what is wrong with a JSON body without Go's names
// for it: a value of the wrong type names the field as the client wrote
// it ("Service.Port") and the JSON type it sent, where encoding/json
// would name Go struct and type names.
func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := te.Type.Kind().String()
		switch {
		case strings.HasPrefix(want, "int"), strings.HasPrefix(want, "uint"), strings.HasPrefix(want, "float"):
			want = "a number"
		case want == "string":
			want = "a string"
		case want == "bool":
			want = "a boolean"
		case want == "slice", want == "array":
			want = "a list"
		case want == "map", want == "struct":
			want = "an object"
		}
		if te.Field == "" {
			return fmt.Sprintf("the body is a JSON %s, want %s", te.Value, want)
		}
		return fmt.Sprintf("%s: got a JSON %s, want %s", te.Field, te.Value, want)
	}
	return err.Error()
}
