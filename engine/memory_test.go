package engine

import (
	"runtime"
	"strconv"
	"testing"
)

// TestClientMemory measures the heap cost per tracked client, which the
// README quotes: insert 100k identifiers of 13 bytes ("client-000000"), then
// record and drain one event for each so that the monitor's totals exist too.
// MaxClients is set well above n so that no shard evicts.
func TestClientMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures 100k clients")
	}
	const n = 100000
	e := newEngine(t, Config{Shards: 4, Rate: 100, MaxClients: 2 * n, RingSize: 1 << 15})
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	id := make([]byte, 0, 32)
	clients := make([]*Client, n)
	before := heap()
	for i := range n {
		id = strconv.AppendInt(append(id[:0], "client-"...), int64(1e6+i), 10)
		clients[i], _, _ = e.Admit(id, base)
	}
	idLen := len(id)
	tracked := heap()
	for i, c := range clients {
		e.Record(c, base, true, 1)
		if i%(1<<14) == 0 {
			e.Drain()
		}
	}
	e.Drain()
	withTotals := heap()
	runtime.KeepAlive(e)
	if st := e.Stats(); st.Clients != n || st.Evicted != 0 {
		t.Fatalf("Stats: got %+v; want %d clients, none evicted", st, n)
	}
	perClient := float64(tracked-before) / n
	perTotals := float64(withTotals-tracked) / n
	t.Logf("per client (id of %d bytes): %.0f bytes tracked by the limiter, %.0f more for its totals, %.0f in all",
		idLen, perClient, perTotals, perClient+perTotals)
	if perClient > 256 || perClient+perTotals > 512 {
		t.Fatalf("per-client cost %.0f + %.0f bytes; want at most 256 for the limiter and 512 in all", perClient, perTotals)
	}
}
