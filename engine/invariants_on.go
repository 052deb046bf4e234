//go:build invariants

package engine

// invariants enables the costlier self-checks (see invariants_off.go).
const invariants = true
