//go:build !race && (amd64 || arm64)

// sonic builds only on 64-bit amd64 and arm64 (its JIT refuses 32-bit
// platforms at compile time), so its benchmark lives apart from the other
// peers and the package's tests still build for GOARCH=386 and arm.

package codec

import (
	"testing"

	"github.com/bytedance/sonic"
)

// BenchmarkPeerSonic10 unmarshals the BenchmarkDecode10 body into a struct
// with sonic's default configuration.
func BenchmarkPeerSonic10(b *testing.B) {
	benchmarkPeerUnmarshal(b, sonic.Unmarshal)
}
