package storage

import (
	"errors"
	"runtime"
	"testing"
)

// BenchmarkAppend measures the whole path (Append → group commit → ack) per backend and ack mode:
// 64 concurrent appenders, each appending batches of 10 metrics (about 1.5 KiB) and, except in
// AckQueued mode, waiting for the ack before the next one, as a keep-alive client does (in
// AckQueued mode up to 8 batches per appender are in flight). Reports
// MB/s, the process CPU time per GB appended (appenders included) and batches per submission.
//
//	go test -run=NONE -bench=BenchmarkAppend -benchmem ./storage/
//	go test -run=NONE -bench=BenchmarkAppend -benchmem -tags iouring -ldflags=-checklinkname=0 ./storage/
func BenchmarkAppend(b *testing.B) {
	for _, w := range writerNames {
		b.Run(w, func(b *testing.B) {
			if w == WriterIOURing {
				skipWithoutUring(b)
			}
			for _, mode := range ackModes {
				b.Run(mode.String(), func(b *testing.B) { benchAppend(b, w, mode) })
			}
		})
	}
}

const (
	benchAppenders = 64
	queuedWindow   = 8
)

func benchAppend(b *testing.B, writer string, mode AckMode) {
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
	content := batchContent(0, 10, 150)
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	b.SetParallelism((benchAppenders + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// AckQueued answers at once, so its appenders do not wait for each batch; they keep up
		// to queuedWindow batches in flight (acks still come, after the write) so that the
		// queue does not sit full with refused appenders spinning.
		window := 1
		if mode == AckQueued {
			window = queuedWindow
		}
		a := make(chanAcker, window)
		inFlight := 0
		for pb.Next() {
			if inFlight == window {
				if err := <-a; err != nil {
					b.Error(err)
					return
				}
				inFlight--
			}
			buf := GetBuffer()
			buf.B = append(buf.B, content...)
			for {
				err := s.Append(buf, 10, a)
				if err == nil {
					break
				}
				if !errors.Is(err, ErrQueueFull) {
					b.Error(err)
					return
				}
				runtime.Gosched() // a refused client retries
			}
			inFlight++
		}
		for ; inFlight > 0; inFlight-- {
			if err := <-a; err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	st := s.Stats()
	if cpu := processCPU() - cpu0; cpu > 0 && st.BytesWritten > 0 {
		b.ReportMetric(cpu.Seconds()/(float64(st.BytesWritten)/1e9), "cpu-s/GB")
	}
	if st.Submissions > 0 {
		b.ReportMetric(float64(st.Batches)/float64(st.Submissions), "batches/submit")
	}
}
