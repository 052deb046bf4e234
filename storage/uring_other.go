//go:build !linux

package storage

import "errors"

// uringBackend does not exist off Linux; newUringBackend says so.
type uringBackend struct{ backend }

func newUringBackend(func()) (*uringBackend, error) {
	return nil, errors.New("io_uring exists only on Linux")
}
