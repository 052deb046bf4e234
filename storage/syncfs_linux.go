package storage

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncSegments makes every segment in dir durable: one syncfs(2) of the file system that holds
// dir, which covers the segments rotated without fdatasync (Stream.retire).
func syncSegments(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		err = unix.Syncfs(int(d.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
