package structs

import (
	"errors"
	"fmt"
)

// Kind is what the transports need to know about an error: the HTTP
// layer turns it into a status code, DNS into an rcode, and the RPC
// between agents carries it beside the message. Every error without a
// kind is KindInternal.
//
// The values are the codes on the wire (agent/pool writes them into every
// error response), so agents of different versions must agree on them:
// append new kinds, never renumber. A kind this agent does not know
// arrives as KindInternal.
type Kind uint8

// The one code table. Adding a kind: a constant here, kindCount raised,
// its name in kindNames, and its status in agent/http's statusOf (and an
// rcode in agent/dns's rcodeOf when DNS answers differ for it).
const (
	// KindInternal: the server failed (500). Also every error with no kind.
	KindInternal Kind = 0
	// KindBadRequest: the request itself is wrong (400).
	KindBadRequest Kind = 1
	// KindNotFound: the request names something that does not exist (404).
	KindNotFound Kind = 2
	// KindPermissionDenied: the token may not do this (403).
	KindPermissionDenied Kind = 3
	// KindNoLeader: the cluster has no leader to serve the request (500,
	// as in Consul).
	KindNoLeader Kind = 4
	// KindUnknownDatacenter: no server of the named datacenter is known
	// (500 over HTTP, as in Consul; NXDOMAIN over DNS).
	KindUnknownDatacenter Kind = 5
	// KindTooLarge: a value or body over its limit (413).
	KindTooLarge Kind = 6
	// KindConflict: the request contradicts the current state (409).
	KindConflict Kind = 7
	// KindACLDisabled: an ACL endpoint on an agent without ACLs (401, as
	// in Consul).
	KindACLDisabled Kind = 8

	kindCount = 9
)

var kindNames = [kindCount]string{
	KindInternal:          "internal",
	KindBadRequest:        "bad request",
	KindNotFound:          "not found",
	KindPermissionDenied:  "permission denied",
	KindNoLeader:          "no leader",
	KindUnknownDatacenter: "unknown datacenter",
	KindTooLarge:          "too large",
	KindConflict:          "conflict",
	KindACLDisabled:       "acl disabled",
}

// Known tells whether k is in the table above. The kinds are exactly the
// known values from KindInternal up.
func (k Kind) Known() bool { return k < kindCount }

func (k Kind) String() string {
	if k.Known() {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Errors with a kind that callers test for with errors.Is. Keep the texts:
// they are Consul's, and clients match some of them literally.
var (
	ErrBadRequest        = &Error{kind: KindBadRequest, msg: "Bad request"}
	ErrPermissionDenied  = &Error{kind: KindPermissionDenied, msg: "Permission denied"}
	ErrNoLeader          = &Error{kind: KindNoLeader, msg: "No cluster leader"}
	ErrUnknownDatacenter = &Error{kind: KindUnknownDatacenter, msg: "No path to datacenter"}
	ErrValueTooLarge     = &Error{kind: KindTooLarge, msg: fmt.Sprintf("Value exceeds %d byte limit", MaxKVSize)}
	// ErrACLNotFound: the token does not exist (or expired); a 403, as
	// Consul answers it.
	ErrACLNotFound = &Error{kind: KindPermissionDenied, msg: "ACL not found"}
	ErrACLDisabled = &Error{kind: KindACLDisabled, msg: "ACL support disabled"}
)

// ErrNotReadyForReads: a new leader has not applied its barrier yet. Like
// every error without a kind it is a 500.
var ErrNotReadyForReads = errors.New("Not ready to serve consistent reads")

// Error is an error with a Kind. Make one with Errorf or BadRequestf, or
// wrap one of the Err* values above with fmt.Errorf("...%w...").
//
// errors.Is(err, target) with an *Error target asks whether err is of the
// target's kind: the identity of a value like ErrPermissionDenied does not
// cross the wire between agents, its kind does. (Internal errors have no
// such sentinels: errors.Is on them compares identity, as usual.)
type Error struct {
	kind  Kind
	msg   string
	cause error
	// remote marks an error an endpoint returned on another agent.
	remote bool
}

// Errorf formats an error of kind k. A %w verb wraps its operand as
// fmt.Errorf does, for errors.Is and errors.As.
func Errorf(k Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{kind: k, msg: err.Error(), cause: errors.Unwrap(err)}
}

// BadRequestf is a request the client got wrong, in Consul's
// "Bad request: <reason>" form.
func BadRequestf(format string, args ...any) error {
	return Errorf(KindBadRequest, "Bad request: "+format, args...)
}

// RemoteError rebuilds an error an endpoint on another agent returned,
// from the kind and message that crossed the wire (agent/pool). A kind
// this agent does not know becomes KindInternal.
func RemoteError(k Kind, msg string) error {
	if !k.Known() {
		k = KindInternal
	}
	return &Error{kind: k, msg: msg, remote: true}
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the error wrapped with %w, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is an *Error of the same kind (see Error).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && e.kind != KindInternal && t.kind == e.kind
}

// Kind returns the error's kind.
func (e *Error) Kind() Kind { return e.kind }

// ErrorKind is the kind of err: that of the first *Error in its chain, or
// KindInternal when there is none.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.kind
	}
	return KindInternal
}

// IsRemote tells whether err came back from an endpoint on another agent,
// as opposed to failing in the transport or on this agent. The router and
// leader forwarding retry transport failures, never an endpoint's answer.
func IsRemote(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.remote
}
