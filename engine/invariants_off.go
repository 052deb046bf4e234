//go:build !invariants

package engine

// invariants enables self-checks that are too costly for production: the
// consumer's view of each ring slot, and the client count of a shard against
// the slots of its table at the end of every pass. The invariants build tag,
// which make test sets for one run of the engine's tests, turns them on; a
// failed check panics with a message starting "BUG:".
const invariants = false
