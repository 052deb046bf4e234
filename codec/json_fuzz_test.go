package codec

import "testing"

// FuzzDecodeJSON holds the decoder to the reference model built on
// encoding/json (see checkDifferential): both accept or both reject, with
// the same names, values, types, timestamps and tags. A small maximum
// batch size lets the fuzzer reach the size rule.
func FuzzDecodeJSON(f *testing.F) {
	for _, doc := range jsonCorpus() {
		f.Add([]byte(doc))
	}
	var d JSONDecoder
	var b Batch
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDifferential(t, &d, &b, body, 4)
	})
}
