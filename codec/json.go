package codec

import (
	"strconv"
)

// Limits of the JSON batch decoder.
const (
	// DefaultMaxBatch is the number of metrics a batch may hold when
	// Decode is given a maxBatch of zero or less.
	DefaultMaxBatch = 1000
	// MaxNameBytes is the longest metric name accepted, in bytes after
	// unescaping.
	MaxNameBytes = 255
	// MaxJSONDepth is the deepest nesting of arrays and objects accepted,
	// counting the top-level object as one. It is the limit encoding/json
	// applies, so both accept the same documents.
	MaxJSONDepth = 10000
)

// DecodeError reports why a body was rejected. Its text is meant for the
// client: it says what was wrong and where, and never contains bytes of
// the input.
//
// The messages are the client-facing texts of SPEC §5, so unlike the
// package's other errors they carry no "codec:" prefix.
//
// There are three kinds, told apart by the fields:
//   - invalid JSON: Metric is -1 and Offset is the 0-based byte offset of
//     the offending byte (len(body) when the body ends too early);
//   - a metric breaking a batch rule: Metric is the 0-based index of the
//     metric in the "metrics" array and Offset is where the offending
//     value (or, for a missing field, the metric) starts;
//   - a batch-level rule (empty batch, too many metrics, top level not an
//     object): Metric and Offset are both -1.
type DecodeError struct {
	Offset int
	Metric int
	Msg    string
}

// Error returns the client-facing message, for instance
// "invalid JSON at byte 57: expected ',' or '}'", "metric 3: name is empty"
// or "Batch cannot be empty".
func (e *DecodeError) Error() string {
	switch {
	case e.Metric >= 0:
		return "metric " + strconv.Itoa(e.Metric) + ": " + e.Msg
	case e.Offset >= 0:
		return "invalid JSON at byte " + strconv.Itoa(e.Offset) + ": " + e.Msg
	}
	return e.Msg
}

// JSONDecoder decodes a JSON batch body (SPEC §5) into a Batch in one pass
// over the bytes, validating the whole document against RFC 8259 and the
// batch rules as it goes.
//
// Semantics, chosen to match what encoding/json reports for the same
// document decoded into a map:
//   - keys are compared exactly (case-sensitive) after unescaping;
//   - a duplicate key replaces the earlier one: the last "metrics", the last
//     "name" of a metric, the last value of a tag key wins; a replaced
//     value only has to be valid JSON, not to obey the batch rules;
//   - an invalid UTF-8 byte in a string becomes U+FFFD, one per byte, and
//     so does a \u escape of a lone or mismatched UTF-16 surrogate;
//   - null for "type", "tags" or "timestamp" means the field is absent;
//   - nesting deeper than MaxJSONDepth is rejected;
//   - a timestamp number must be written as an integer (no fraction or
//     exponent); an RFC 3339 string may use 't' and 'z' in lower case and
//     fractions beyond milliseconds are truncated toward the past.
//
// Errors come in document order: the first JSON syntax error wins over any
// batch-rule error, and among rule errors the first in the final "metrics"
// array wins; within one metric the fields are checked in the order name,
// value, type, tags, timestamp.
//
// The zero value is ready to use. A JSONDecoder is not safe for concurrent
// use; each event loop owns its own. It keeps a scratch buffer for strings
// that contain escapes, so a warmed-up decoder does not allocate.
type JSONDecoder struct {
	// scratch holds unescaped strings of the batch being decoded. Views into
	// it are handed out in the Batch, so it is only ever appended to while
	// a Decode runs and is truncated at the start of the next Decode. When
	// an append reallocates it, earlier views keep the old array alive.
	scratch []byte

	// State of the current Decode call; buf and b are cleared on return so
	// the decoder does not retain the caller's body.
	buf      []byte
	pos      int
	b        *Batch
	maxBatch int
	fail     DecodeError // first syntax error
	rule     DecodeError // first batch-rule error of the current "metrics"
	ruleSet  bool

	// kinds records, for each nesting depth, whether the container skipped
	// there is an object (bit set) or an array.
	kinds [MaxJSONDepth/64 + 1]uint64

	tags tagSet
}

// Decode resets b and fills it with the metrics of body. It returns a
// *DecodeError when the body is not valid JSON or breaks a batch rule;
// b is then left empty. maxBatch limits the number of metrics; zero or
// less selects DefaultMaxBatch.
//
// The byte slices in b point into body or into d's scratch space: they
// stay valid while body is unchanged and until the next call of Decode.
func (d *JSONDecoder) Decode(body []byte, maxBatch int, b *Batch) error {
	b.Reset()
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	d.scratch = d.scratch[:0]
	d.buf, d.pos, d.b, d.maxBatch = body, 0, b, maxBatch
	d.ruleSet = false
	ok := d.decodeTop()
	d.buf, d.b = nil, nil
	if !ok {
		b.Reset()
		e := d.fail
		return &e
	}
	if d.ruleSet {
		b.Reset()
		e := d.rule
		return &e
	}
	return nil
}

// syntax records a JSON syntax error at off and returns false, so callers
// can write "return d.syntax(...)".
func (d *JSONDecoder) syntax(off int, msg string) bool {
	d.fail = DecodeError{Offset: off, Metric: -1, Msg: msg}
	return false
}

// breakRule records a batch-rule error unless an earlier one is pending.
func (d *JSONDecoder) breakRule(off, metric int, msg string) {
	if !d.ruleSet {
		d.rule = DecodeError{Offset: off, Metric: metric, Msg: msg}
		d.ruleSet = true
	}
}
