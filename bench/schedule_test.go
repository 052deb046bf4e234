package bench

import (
	"sync"
	"testing"
	"time"
)

func TestScheduleDueTimes(t *testing.T) {
	start := time.Unix(1000, 0)
	s := NewSchedule(start, 4000) // one ticket per 250µs
	cases := []struct {
		k    uint64
		want time.Duration
	}{{0, 0}, {1, 250 * time.Microsecond}, {4000, time.Second}, {4_000_000, 1000 * time.Second}}
	for _, c := range cases {
		if got := s.DueAt(c.k).Sub(start); got != c.want {
			t.Errorf("DueAt(%d) = start+%v; want start+%v", c.k, got, c.want)
		}
	}
	before := []struct {
		at   time.Duration
		want uint64
	}{{-time.Second, 0}, {0, 0}, {1, 1}, {250 * time.Microsecond, 1}, {250*time.Microsecond + 1, 2}, {time.Second, 4000}}
	for _, c := range before {
		if got := s.DueBefore(start.Add(c.at)); got != c.want {
			t.Errorf("DueBefore(start+%v) = %d; want %d", c.at, got, c.want)
		}
	}
	// DueBefore agrees with DueAt for awkward rates.
	odd := NewSchedule(start, 3333.3)
	for k := range uint64(5000) {
		due := odd.DueAt(k)
		if got := odd.DueBefore(due); got != k {
			t.Fatalf("DueBefore(DueAt(%d)) = %d; want %d", k, got, k)
		}
		if got := odd.DueBefore(due.Add(1)); got != k+1 {
			t.Fatalf("DueBefore(DueAt(%d)+1ns) = %d; want %d", k, got, k+1)
		}
	}
}

func TestScheduleHandsOutEachTicketOnce(t *testing.T) {
	s := NewSchedule(time.Now(), 1e6)
	const workers, per = 8, 2000
	got := make([][]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range per {
				k, due := s.Next()
				if !due.Equal(s.DueAt(k)) {
					t.Errorf("ticket %d due %v; want %v", k, due, s.DueAt(k))
				}
				got[w] = append(got[w], k)
			}
		})
	}
	wg.Wait()
	seen := make([]bool, workers*per)
	for _, ks := range got {
		for _, k := range ks {
			if k >= uint64(len(seen)) || seen[k] {
				t.Fatalf("ticket %d handed out twice or out of range", k)
			}
			seen[k] = true
		}
	}
}
