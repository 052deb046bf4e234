package forward

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/s2"
)

// Prometheus remote write 1.0 (prompb/remote.proto):
//
//	WriteRequest   { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
//	TimeSeries     { repeated Label labels = 1; repeated Sample samples = 2; }
//	Label          { string name = 1; string value = 2; }
//	Sample         { double value = 1; int64 timestamp = 2; }   // Unix milliseconds
//	MetricMetadata { MetricType type = 1; string metric_family_name = 2; }
//
// The few fields are written by hand (varints, one fixed64, length prefixes) rather than with
// google.golang.org/protobuf/encoding/protowire: the encoder needs nothing else from protobuf,
// the sizes must be computed up front anyway to write the nested lengths in one pass, and the
// real receivers in the tests (Prometheus, VictoriaMetrics) check the bytes.
//
// Mapping of a stored line: the name becomes __name__, the client id the label "client" (left
// out when empty), every tag a label; names are sanitised (sanitize.go), labels with an empty
// value are left out (Prometheus treats them as absent), labels are sorted by name, and when two
// end up with the same name the first wins in the order __name__, client, then the tags in
// stored order. The type goes into the request's metadata (COUNTER, GAUGE, HISTOGRAM, SUMMARY),
// not into a label, so that it never splits or renames a series.

// Protobuf wire tags: field number << 3 | wire type (2: length-delimited, 1: fixed64, 0: varint).
const (
	tagTimeSeries  = 1<<3 | 2
	tagMetadata    = 3<<3 | 2
	tagLabel       = 1<<3 | 2
	tagSample      = 2<<3 | 2
	tagLabelName   = 1<<3 | 2
	tagLabelValue  = 2<<3 | 2
	tagSampleValue = 1<<3 | 1
	tagSampleTime  = 2<<3 | 0
	tagMetaType    = 1<<3 | 0
	tagMetaFamily  = 2<<3 | 2
)

// The labels every series gets from the stored line itself.
var (
	labelMetricName = []byte("__name__")
	labelClient     = []byte("client")
)

// metricTypes maps a stored type to prompb's MetricType enum.
var metricTypes = map[string]uint64{"counter": 1, "gauge": 2, "histogram": 3, "summary": 5}

// rwEncoder encodes batches as snappy-compressed WriteRequests. Owned by one worker.
//
// Label sets outlive a batch: a line whose series part (series.go) is known gets its label set
// by id, without being parsed; a new series part is parsed, and its labels built, sanitised,
// sorted and encoded once. Two series parts that end up with the same labels (tags in another
// order, names that sanitise alike) share one label set, so one series in a request.
type rwEncoder struct {
	parser lineParser
	sample Sample
	times  timeCache
	ids    seriesIDs
	idSet  []int32 // series-part id → label set

	sets     []rwLabelSet
	setIndex map[uint64]int32  // hash of a label set's bytes → newest set with it (chained)
	families map[string]string // the sets' metric names, one string each
	labels   []byte            // every label set's encoded Label fields, back to back
	gen      int64             // the batch being encoded, for rwLabelSet.gen

	pairs  []rwPair // one sample's labels, while its label set is built
	names  []byte   // one sample's sanitised names
	series []rwSeries
	points []rwPoint
	order  []int32 // point indices grouped by series
	meta   map[string]uint64
	pb     []byte
	out    []byte
}

// rwPair is one label of the sample being encoded; name points into rwEncoder.names.
type rwPair struct {
	name, value []byte
	own         bool // __name__ or client: wins over a tag of the same name
}

// rwLabelSet is one distinct set of labels: its encoded Label fields in rwEncoder.labels.
type rwLabelSet struct {
	start, end int32
	next       int32  // an older set with the same hash, or -1
	name       string // the sanitised metric name, the metadata's family
	gen        int64  // the batch in which series last was set
	series     int32  // the set's series in batch gen
}

// rwSeries is one series of the batch: its label set and its points.
type rwSeries struct {
	set          int32
	count, first int32 // points, and where they start in order
}

// rwPoint is one sample of a series.
type rwPoint struct {
	series int32
	ts     int64
	value  float64
}

func newRWEncoder() *rwEncoder {
	return &rwEncoder{setIndex: map[uint64]int32{}, families: map[string]string{}, meta: map[string]uint64{}}
}

// encode implements encoder.
func (e *rwEncoder) encode(lines []byte) ([]byte, encodeResult) {
	if e.ids.full() || len(e.sets) >= maxSeriesIDs || len(e.labels) >= maxSeriesBytes {
		e.ids.reset()
		e.idSet, e.sets, e.labels = e.idSet[:0], e.sets[:0], e.labels[:0]
		clear(e.setIndex)
		clear(e.families)
	}
	e.gen++
	e.series, e.points = e.series[:0], e.points[:0]
	clear(e.meta)
	var r encodeResult
	eachLine(lines, func(line []byte, off int) {
		if err := e.add(line); err != nil {
			r.noteInvalid(line, off, err)
			return
		}
		r.samples++
	})
	if r.samples == 0 {
		return nil, r
	}
	e.groupPoints()
	e.pb = e.appendRequest(e.pb[:0])
	e.out = s2.EncodeSnappy(e.out[:cap(e.out)], e.pb)
	return e.out, r
}

// add files the sample of one stored line under its series.
func (e *rwEncoder) add(line []byte) error {
	k := e.ids.see(line, &e.times)
	if k.hit {
		e.addPoint(e.idSet[k.id], k.parts.typ, k.ts, k.value)
		return nil
	}
	if err := e.parser.parse(line, &e.sample); err != nil {
		return err
	}
	set := e.labelSet(&e.sample)
	if e.ids.learn(&k) {
		e.idSet = append(e.idSet, set)
	}
	e.addPoint(set, e.sample.Type, e.sample.TimestampMs, e.sample.Value)
	return nil
}

// addPoint adds one sample of label set set, whose stored type is typ, to the batch.
func (e *rwEncoder) addPoint(set int32, typ []byte, ts int64, v float64) {
	ls := &e.sets[set]
	if ls.gen != e.gen {
		ls.gen, ls.series = e.gen, int32(len(e.series))
		e.series = append(e.series, rwSeries{set: set})
		if _, seen := e.meta[ls.name]; !seen {
			e.meta[ls.name] = metricTypes[string(typ)]
		}
	}
	e.series[ls.series].count++
	e.points = append(e.points, rwPoint{series: ls.series, ts: ts, value: v})
}

// labelSet returns the label set of s: its labels sanitised, sorted and encoded, found among
// the known sets or added.
func (e *rwEncoder) labelSet(s *Sample) int32 {
	e.pairs, e.names = e.pairs[:0], e.names[:0]
	e.names = appendMetricName(e.names, s.Name)
	nameEnd := len(e.names)
	e.pairs = append(e.pairs, rwPair{name: labelMetricName, value: e.names[:nameEnd], own: true})
	if len(s.Client) > 0 {
		e.pairs = append(e.pairs, rwPair{name: labelClient, value: s.Client, own: true})
	}
	for _, t := range s.Tags {
		if len(t.Value) == 0 {
			continue
		}
		start := len(e.names)
		e.names = appendLabelName(e.names, t.Key)
		e.pairs = append(e.pairs, rwPair{name: e.names[start:len(e.names):len(e.names)], value: t.Value})
	}
	// e.names may have moved while growing: re-point the metric name.
	e.pairs[0].value = e.names[:nameEnd]
	e.fixTagNames(nameEnd)
	slices.SortStableFunc(e.pairs, func(a, b rwPair) int { return bytes.Compare(a.name, b.name) })
	e.pairs = dedupePairs(e.pairs)

	start := len(e.labels)
	for _, p := range e.pairs {
		e.labels = appendLabel(e.labels, p.name, p.value)
	}
	return e.findSet(start, e.names[:nameEnd])
}

// fixTagNames re-points the tag names into e.names after it may have grown: the names were
// appended in tag order right after the metric name.
func (e *rwEncoder) fixTagNames(nameEnd int) {
	off := nameEnd
	for i := range e.pairs {
		if e.pairs[i].own {
			continue
		}
		n := len(e.pairs[i].name)
		e.pairs[i].name = e.names[off : off+n : off+n]
		off += n
	}
}

// dedupePairs keeps the first label of each name in a sorted slice, an own label before a tag.
func dedupePairs(pairs []rwPair) []rwPair {
	out := pairs[:0]
	for i := 0; i < len(pairs); i++ {
		if len(out) > 0 && bytes.Equal(out[len(out)-1].name, pairs[i].name) {
			if pairs[i].own && !out[len(out)-1].own {
				out[len(out)-1] = pairs[i]
			}
			continue
		}
		out = append(out, pairs[i])
	}
	return out
}

// findSet returns the label set whose bytes are e.labels[start:], adding it (with its metric
// name) when new; a known set's bytes are dropped from e.labels again.
func (e *rwEncoder) findSet(start int, name []byte) int32 {
	key := e.labels[start:]
	h := xxhash.Sum64(key)
	head, ok := e.setIndex[h]
	if ok {
		for i := head; i >= 0; i = e.sets[i].next {
			ls := &e.sets[i]
			if bytes.Equal(e.labels[ls.start:ls.end], key) {
				e.labels = e.labels[:start]
				return i
			}
		}
	} else {
		head = -1
	}
	idx := int32(len(e.sets))
	family, ok := e.families[string(name)]
	if !ok {
		family = string(name)
		e.families[family] = family
	}
	e.sets = append(e.sets, rwLabelSet{start: int32(start), end: int32(len(e.labels)), next: head, name: family})
	e.setIndex[h] = idx
	return idx
}

// groupPoints orders the points by series (counting sort, first-seen series order), and each
// series' points by timestamp, as remote write requires.
func (e *rwEncoder) groupPoints() {
	var at int32
	for i := range e.series {
		e.series[i].first = at
		at += e.series[i].count
		e.series[i].count = 0
	}
	e.order = slices.Grow(e.order[:0], len(e.points))[:len(e.points)]
	for i, p := range e.points {
		s := &e.series[p.series]
		e.order[s.first+s.count] = int32(i)
		s.count++
	}
	for i := range e.series {
		s := &e.series[i]
		run := e.order[s.first : s.first+s.count]
		if !slices.IsSortedFunc(run, e.byTime) {
			slices.SortStableFunc(run, e.byTime)
		}
	}
}

func (e *rwEncoder) byTime(a, b int32) int {
	ta, tb := e.points[a].ts, e.points[b].ts
	switch {
	case ta < tb:
		return -1
	case ta > tb:
		return 1
	}
	return 0
}

// appendRequest appends the WriteRequest of the grouped series and the metadata.
func (e *rwEncoder) appendRequest(dst []byte) []byte {
	for i := range e.series {
		s := &e.series[i]
		run := e.order[s.first : s.first+s.count]
		labels := e.labels[e.sets[s.set].start:e.sets[s.set].end]
		size := len(labels)
		for _, pi := range run {
			n := sampleSize(e.points[pi].ts)
			size += 1 + varintLen(uint64(n)) + n
		}
		dst = append(dst, tagTimeSeries)
		dst = binary.AppendUvarint(dst, uint64(size))
		dst = append(dst, labels...)
		for _, pi := range run {
			p := &e.points[pi]
			dst = append(dst, tagSample)
			dst = binary.AppendUvarint(dst, uint64(sampleSize(p.ts)))
			dst = append(dst, tagSampleValue)
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.value))
			dst = append(dst, tagSampleTime)
			dst = binary.AppendUvarint(dst, uint64(p.ts))
		}
	}
	for name, typ := range e.meta {
		size := 1 + varintLen(typ) + 1 + varintLen(uint64(len(name))) + len(name)
		dst = append(dst, tagMetadata)
		dst = binary.AppendUvarint(dst, uint64(size))
		dst = append(dst, tagMetaType)
		dst = binary.AppendUvarint(dst, typ)
		dst = append(dst, tagMetaFamily)
		dst = binary.AppendUvarint(dst, uint64(len(name)))
		dst = append(dst, name...)
	}
	return dst
}

// sampleSize is the encoded size of a Sample message with timestamp ts.
func sampleSize(ts int64) int { return 1 + 8 + 1 + varintLen(uint64(ts)) }

// appendLabel appends one Label field of a TimeSeries.
func appendLabel(dst, name, value []byte) []byte {
	size := 1 + varintLen(uint64(len(name))) + len(name) + 1 + varintLen(uint64(len(value))) + len(value)
	dst = append(dst, tagLabel)
	dst = binary.AppendUvarint(dst, uint64(size))
	dst = append(dst, tagLabelName)
	dst = binary.AppendUvarint(dst, uint64(len(name)))
	dst = append(dst, name...)
	dst = append(dst, tagLabelValue)
	dst = binary.AppendUvarint(dst, uint64(len(value)))
	return append(dst, value...)
}

// varintLen is the length of v as a protobuf varint.
func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
