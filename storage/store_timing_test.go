package storage

import (
	"testing"
)

// BenchmarkStreamCommit measures one stream's group commit with each writer side by side: per
// iteration, a poll round's worth of batches (roundBatches batches of 10 lines, as 64
// connections send them) is appended and committed by Flush on the benchmark goroutine, which
// plays the event loop; a late io_uring completion is collected by the next Flush, as the
// waiter's wake-up would schedule it. Compare file and io_uring within one run:
//
//	go test -run '^$' -bench BenchmarkStreamCommit -count 5 ./storage/
func BenchmarkStreamCommit(b *testing.B) {
	for _, writer := range writerNames {
		b.Run(writer, func(b *testing.B) {
			if writer == WriterIOURing {
				skipWithoutUring(b)
			}
			for _, mode := range ackModes {
				b.Run(mode.String(), func(b *testing.B) { benchCommit(b, writer, mode) })
			}
		})
	}
}

// roundBatches is how many batches one benchmark round appends before its Flush.
const roundBatches = 16

// countAcker counts acks on the owner goroutine.
type countAcker struct {
	acked  int
	failed error
}

func (a *countAcker) Ack(err error) {
	a.acked++
	if err != nil {
		a.failed = err
	}
}

func benchCommit(b *testing.B, writer string, mode AckMode) {
	s, err := Open(Config{
		Dir:          b.TempDir(),
		Writer:       writer,
		Ack:          mode,
		Logger:       quietLogger,
		SegmentBytes: 64 << 20,
		MaxDiskBytes: 256 << 20, // keeps long runs from filling the disk
	})
	if err != nil {
		b.Fatal(err)
	}
	st := s.Stream(0)
	content := batchContent(0, 10, 150)
	b.SetBytes(int64(len(content)) * roundBatches)
	b.ReportAllocs()
	a := &countAcker{}
	want := 0
	b.ResetTimer()
	for range b.N {
		for range roundBatches {
			buf := GetBuffer()
			buf.B = append(buf.B, content...)
			if err := st.Append(buf, 10, a); err != nil {
				b.Fatal(err)
			}
		}
		want += roundBatches
		st.Flush()
		for a.acked < want {
			st.Flush() // a late completion: collect it
		}
	}
	b.StopTimer()
	if a.failed != nil {
		b.Fatal(a.failed)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	stats := s.Stats()
	if stats.Submissions > 0 {
		b.ReportMetric(float64(stats.Batches)/float64(stats.Submissions), "batches/submit")
		b.ReportMetric(float64(stats.LateCompletions)/float64(stats.Submissions), "late/submit")
	}
}
