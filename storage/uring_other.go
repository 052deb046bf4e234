//go:build !(linux && iouring)

package storage

import "errors"

// uringCompiled reports whether this build contains the io_uring backend.
const uringCompiled = false

// errUringNotCompiled is the reason given when io_uring is asked for in a build without it.
var errUringNotCompiled = errors.New("io_uring not compiled in (build tag iouring)")

// newUringBackend reports that this build has no io_uring backend. Build with
// -tags iouring -ldflags=-checklinkname=0 on Linux to have it.
func newUringBackend(uint) (backend, string, error) {
	return nil, "", errUringNotCompiled
}
