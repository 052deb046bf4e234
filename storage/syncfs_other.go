//go:build !linux

package storage

import (
	"errors"
	"os"
	"path/filepath"
)

// syncSegments makes every segment in dir durable: without syncfs(2), each segment file is
// opened and synced in turn (Close only, so its cost is paid once per run).
func syncSegments(dir string) error {
	segs, err := ListSegments(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, sg := range segs {
		f, err := os.OpenFile(filepath.Join(dir, sg.Ref.FileName()), os.O_RDWR, 0)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		errs = append(errs, f.Sync(), f.Close())
	}
	return errors.Join(errs...)
}
