package jepsen

import (
	"fmt"
	"sort"

	"github.com/anishathalye/porcupine"
)

// OpKind is what a client asked the KV store to do.
type OpKind uint8

const (
	// OpGet reads a key (GET /v1/kv/<key>).
	OpGet OpKind = iota
	// OpPut writes a key unconditionally (PUT /v1/kv/<key>).
	OpPut
	// OpCAS writes a key only if it still holds the value the client read
	// before (PUT /v1/kv/<key>?cas=<ModifyIndex of that read>).
	OpCAS
)

func (k OpKind) String() string {
	switch k {
	case OpGet:
		return "get"
	case OpPut:
		return "put"
	case OpCAS:
		return "cas"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Input is one operation's request. Values are never empty: "" stands for
// "the key does not exist" throughout the model.
type Input struct {
	Kind OpKind
	Key  string
	// Value is what a put or cas writes.
	Value string
	// Expect is the value a cas requires the key to hold ("" = absent).
	//
	// Consul's CAS compares ModifyIndex, not values. Every write in a run
	// writes a value no other write uses and nothing deletes, so a key's
	// ModifyIndex equals the index a read returned with value v exactly when
	// the key still holds v: comparing values is the same test.
	Expect string
}

// Output is one operation's response.
type Output struct {
	// Value is what a get returned ("" = not found).
	Value string
	// OK is a write's answer: true, or false for a cas that lost.
	OK bool
	// Unknown marks a write whose outcome was lost (timeout, dropped
	// connection, 5xx): it may or may not have taken effect. Its operation
	// is recorded as returning after everything else, so the checker may
	// place it anywhere after its call, including "never" (at the end).
	Unknown bool
}

// kvModel is the sequential specification of one key of Consul's KV store
// with get, put and index-based CAS. The state is the key's value ("" when
// absent). The history is partitioned by key, so each partition is a single
// register.
var kvModel = porcupine.Model{
	Partition: partitionByKey,
	Init:      func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(string), input.(Input), output.(Output)
		switch in.Kind {
		case OpGet:
			return out.Value == st, st
		case OpPut:
			// A put always succeeds; an unknown one may have happened here.
			return out.OK || out.Unknown, in.Value
		case OpCAS:
			match := st == in.Expect
			switch {
			case out.Unknown:
				// Had it failed, it changed nothing; the checker can get
				// the same effect by placing it last.
				if match {
					return true, in.Value
				}
				return true, st
			case out.OK:
				return match, in.Value
			default:
				return !match, st
			}
		}
		return false, st
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		res := func() string {
			switch {
			case out.Unknown:
				return "?"
			case out.OK:
				return "ok"
			}
			return "fail"
		}
		switch in.Kind {
		case OpGet:
			return fmt.Sprintf("get(%s) -> %s", in.Key, show(out.Value))
		case OpPut:
			return fmt.Sprintf("put(%s, %s) -> %s", in.Key, in.Value, res())
		default:
			return fmt.Sprintf("cas(%s, %s -> %s) -> %s", in.Key, show(in.Expect), in.Value, res())
		}
	},
	DescribeState: func(state any) string { return show(state.(string)) },
}

func show(v string) string {
	if v == "" {
		return "<absent>"
	}
	return v
}

// partitionByKey splits a history into one history per key; keys are
// independent registers, and small partitions keep the search cheap.
func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		k := op.Input.(Input).Key
		byKey[k] = append(byKey[k], op)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}
