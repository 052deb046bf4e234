package codec

import "fmt"

// MetricType is the kind of a metric as stored. The zero value is Gauge,
// the default when a batch does not name a type.
type MetricType uint8

// Metric types, in the order the SPEC lists them.
const (
	Gauge MetricType = iota
	Counter
	Histogram
	Summary
)

var metricTypeNames = [...]string{Gauge: "gauge", Counter: "counter", Histogram: "histogram", Summary: "summary"}

// String returns the stored name of t ("gauge", "counter", ...).
func (t MetricType) String() string {
	if int(t) < len(metricTypeNames) {
		return metricTypeNames[t]
	}
	return fmt.Sprintf("MetricType(%d)", uint8(t))
}

// ParseMetricType maps a type name as it appears in input to a MetricType.
func ParseMetricType(b []byte) (MetricType, bool) {
	switch string(b) {
	case "gauge":
		return Gauge, true
	case "counter":
		return Counter, true
	case "histogram":
		return Histogram, true
	case "summary":
		return Summary, true
	}
	return 0, false
}

// Tag is one key/value label of a metric. Key and Value hold unescaped
// bytes; they point into the decoded body or into the decoder's scratch
// space and are valid only as long as the Batch that holds them.
type Tag struct {
	Key   []byte
	Value []byte
}

// Metric is one decoded sample, independent of the input format that
// carried it. Name and the tags' bytes are views (see Tag).
type Metric struct {
	Name  []byte
	Value float64
	// ValueText, when not empty, is Value written exactly as the line
	// encoder would format it: the storage line copies it instead of
	// formatting Value again. The decoders set it to the number as the
	// body wrote it, a view like Name, when that text is already in the
	// encoder's form (most values: "75.5", "1500"). Code that changes
	// Value must clear it.
	ValueText []byte
	Type      MetricType
	// NamePlain reports that every byte of Name stands for itself in a
	// JSON string (printable ASCII other than '"' and '\\'), so the line
	// copies it between quotes without looking at it again. The JSON
	// decoder sets it when it has checked that. Code that changes Name
	// must clear it.
	NamePlain bool
	// HasTimestamp reports whether the input carried a timestamp; when it
	// is false the encoder uses the time the server received the batch.
	HasTimestamp bool
	// TimestampMs is Unix time in milliseconds, valid when HasTimestamp.
	TimestampMs int64
	// TagStart and TagEnd delimit this metric's tags in Batch.Tags.
	TagStart, TagEnd int32
	// TagsText, when not empty, is the text between the braces of the
	// storage line's tags object exactly as the line encoder would write
	// the tags b.Tags[TagStart:TagEnd]: the line copies it instead of
	// writing every tag again. The JSON decoder sets it to the body's tags
	// object, a view like Name, when that object is already in the
	// encoder's form: compact, plain strings only, no duplicate key. Code
	// that changes the tags must clear it.
	TagsText []byte
}

// Batch is the format-neutral result of decoding one request body: every
// input decoder (JSON, InfluxDB line protocol, ...) fills a Batch, and the
// line encoder reads one, so the engine and storage never see input formats.
//
// A Batch is reused across requests: Reset truncates it without freeing its
// arrays, so a warmed-up Batch decodes without allocating. Its byte slices
// are views that are valid until the next Reset or until the body they were
// decoded from is released; copy before handing them to another goroutine.
type Batch struct {
	Metrics []Metric
	Tags    []Tag
}

// Reset empties b for reuse, keeping its capacity.
func (b *Batch) Reset() {
	clear(b.Metrics) // drop references into old bodies
	b.Metrics = b.Metrics[:0]
	clear(b.Tags)
	b.Tags = b.Tags[:0]
}

// Len returns the number of metrics in b.
func (b *Batch) Len() int { return len(b.Metrics) }

// MetricTags returns the tags of b.Metrics[i].
func (b *Batch) MetricTags(i int) []Tag {
	m := &b.Metrics[i]
	return b.Tags[m.TagStart:m.TagEnd]
}
