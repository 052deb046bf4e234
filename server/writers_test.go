package server

import (
	"io"
	"log/slog"
	"testing"

	"metricstream/storage"
)

// forEachWriter runs f as a subtest per storage writer this kernel can run: the storage-facing
// server tests pass with both.
func forEachWriter(t *testing.T, f func(t *testing.T, writer string)) {
	t.Helper()
	for _, w := range []string{storage.WriterFile, storage.WriterIOURing} {
		t.Run(w, func(t *testing.T) {
			if w == storage.WriterIOURing {
				st, err := storage.Open(storage.Config{Dir: t.TempDir(), Writer: w, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					t.Skipf("io_uring writer unavailable here: %v", err)
				}
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
			}
			f(t, w)
		})
	}
}
