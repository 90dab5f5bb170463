// Package event keeps the user events an agent received: a ring buffer
// of the last 256, listed through agent/blocking so GET /v1/event/list
// blocks like every other read, and the filter rule each receiving agent
// applies (node name, local services and tags).
//
// An event's index is the one its ID stands for (structs.EventIndex: the
// firing server's clock, which the official client's event watch reads
// back from the ID), raised past the previous event's when events arrive
// out of that order, so the index of a list grows by each new event and
// moves only when one arrives.
//
// It may import agent/structs, agent/blocking and the standard library.
package event
