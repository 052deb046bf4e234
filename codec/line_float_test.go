package codec

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAppendFloatIntegralFastPath checks that integral values, which take
// appendFloat's AppendInt path, print exactly as encoding/json prints them,
// at the edges of that path and on random integers.
func TestAppendFloatIntegralFastPath(t *testing.T) {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 3, 1e15, 1<<53 - 1, 1 << 53, -(1<<53 - 1), -(1 << 53),
		123456789012345, 1e20, 1e21, 2.5, -7, 0.5}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		vals = append(vals, float64(r.Int64N(1<<54)-1<<53), math.Trunc(r.NormFloat64()*1e6))
	}
	for _, v := range vals {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendFloat(nil, v); string(got) != string(want) {
			t.Fatalf("appendFloat(%v) = %s; want %s", v, got, want)
		}
	}
}
