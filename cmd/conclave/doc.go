// Command conclave is the single binary: the agent and every operator
// command. main only builds the command tree (package commands), wires the
// real daemon (package agent) into it and exits with the tree's status.
//
// Installed or linked as "consul" it behaves identically; only usage and
// help text show the invoked name.
//
// Imports: conclave/commands and conclave/agent. It is the only package
// that joins the two.
package main
