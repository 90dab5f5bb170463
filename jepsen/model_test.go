package jepsen

import (
	"math"
	"os"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// op builds a history entry; ret < 0 means the outcome is unknown.
func op(client int, in Input, out Output, call, ret int64) porcupine.Operation {
	if ret < 0 {
		out.Unknown, ret = true, math.MaxInt64
	}
	return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
}

func get(k string) Input         { return Input{Kind: OpGet, Key: k} }
func put(k, v string) Input      { return Input{Kind: OpPut, Key: k, Value: v} }
func cas(k, exp, v string) Input { return Input{Kind: OpCAS, Key: k, Expect: exp, Value: v} }
func val(v string) Output        { return Output{Value: v} }
func ack(ok bool) Output         { return Output{OK: ok} }

func TestModel(t *testing.T) {
	tests := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"read your write", []porcupine.Operation{
			op(0, put("a", "1"), ack(true), 0, 10),
			op(1, get("a"), val("1"), 20, 30),
		}, porcupine.Ok},
		{"stale read after acknowledged write", []porcupine.Operation{
			op(0, put("a", "1"), ack(true), 0, 10),
			op(1, get("a"), val(""), 20, 30),
		}, porcupine.Illegal},
		{"concurrent read may see either", []porcupine.Operation{
			op(0, put("a", "1"), ack(true), 0, 30),
			op(1, get("a"), val(""), 10, 20),
			op(2, get("a"), val("1"), 11, 21),
		}, porcupine.Ok},
		{"value goes back in time", []porcupine.Operation{
			op(0, put("a", "1"), ack(true), 0, 10),
			op(0, put("a", "2"), ack(true), 20, 30),
			op(1, get("a"), val("2"), 40, 50),
			op(1, get("a"), val("1"), 60, 70),
		}, porcupine.Illegal},
		{"unknown write may show up later", []porcupine.Operation{
			op(0, put("a", "1"), Output{}, 0, -1),
			op(1, get("a"), val(""), 20, 30),
			op(1, get("a"), val("1"), 40, 50),
		}, porcupine.Ok},
		{"unknown write may never happen", []porcupine.Operation{
			op(0, put("a", "1"), Output{}, 0, -1),
			op(1, get("a"), val(""), 20, 30),
		}, porcupine.Ok},
		{"unknown write cannot happen before its call", []porcupine.Operation{
			op(1, get("a"), val("1"), 0, 10),
			op(0, put("a", "1"), Output{}, 20, -1),
		}, porcupine.Illegal},
		{"cas succeeds on the expected value", []porcupine.Operation{
			op(0, put("a", "1"), ack(true), 0, 10),
			op(0, cas("a", "1", "2"), ack(true), 20, 30),
			op(1, get("a"), val("2"), 40, 50),
		}, porcupine.Ok},
		{"cas on absent key", []porcupine.Operation{
			op(0, cas("a", "", "1"), ack(true), 0, 10),
			op(1, cas("a", "", "2"), ack(false), 20, 30),
			op(1, get("a"), val("1"), 40, 50),
		}, porcupine.Ok},
		{"two cas from the same value both win", []porcupine.Operation{
			op(0, put("a", "1"), ack(true), 0, 10),
			op(1, cas("a", "1", "2"), ack(true), 20, 40),
			op(2, cas("a", "1", "3"), ack(true), 21, 41),
		}, porcupine.Illegal},
		{"cas fails although the value matched", []porcupine.Operation{
			op(0, put("a", "1"), ack(true), 0, 10),
			op(1, cas("a", "1", "2"), ack(false), 20, 30),
		}, porcupine.Illegal},
		{"unknown cas whose precondition held", []porcupine.Operation{
			op(0, put("a", "1"), ack(true), 0, 10),
			op(1, cas("a", "1", "2"), Output{}, 20, -1),
			op(2, get("a"), val("2"), 40, 50),
		}, porcupine.Ok},
		{"unknown cas whose precondition failed cannot write", []porcupine.Operation{
			op(0, put("a", "1"), ack(true), 0, 10),
			op(1, cas("a", "9", "2"), Output{}, 20, -1),
			op(2, get("a"), val("2"), 40, 50),
		}, porcupine.Illegal},
		{"keys are independent", []porcupine.Operation{
			op(0, put("a", "1"), ack(true), 0, 10),
			op(1, put("b", "2"), ack(true), 0, 10),
			op(2, get("a"), val("1"), 20, 30),
			op(2, get("b"), val("2"), 20, 30),
			op(3, get("b"), val(""), 40, 50),
		}, porcupine.Illegal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := porcupine.CheckOperationsTimeout(kvModel, tt.ops, 10*time.Second)
			if got != tt.want {
				t.Errorf("CheckOperations = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestHistoryCheckWritesVisualization checks the failure path the real
// tests rely on: an illegal history yields a visualization file.
func TestHistoryCheckWritesVisualization(t *testing.T) {
	h := NewHistory()
	h.Add(0, put("a", "1"), ack(true), 0, 10, "")
	h.Add(1, get("a"), val(""), 20, 30, "")
	h.Event(5, 25, "kill s1")
	res, err := h.Check(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != porcupine.Illegal {
		t.Fatalf("Check = %v, want Illegal", res.Result)
	}
	defer os.Remove(res.Visualization)
	fi, err := os.Stat(res.Visualization)
	if err != nil || fi.Size() == 0 {
		t.Fatalf("visualization %q: %v (size %d)", res.Visualization, err, fi.Size())
	}
}
