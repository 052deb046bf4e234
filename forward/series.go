package forward

import (
	"bytes"
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// Most stored lines belong to a series the forwarder has seen before: the same client, name
// and tags, with a new timestamp and value. The encoders therefore split a line cheaply into
// what changes per sample and what names its series, and keep what they derived from the
// series part (sanitised and sorted labels, escaped line-protocol keys) under a small id, so
// that a line of a known series is never parsed, sanitised or sorted again. Only a line whose
// series part is new, or that does not split, takes lineParser's full path.
//
// Why a hit is as good as a full parse: the series part of a line is compared byte for byte
// with that of a line which lineParser accepted, and it sits at the same place in both (split
// finds the boundaries the parser finds for every line it accepts). The rest of the line is
// checked by split itself (the fixed keys, a timestamp of the stored form, a number, a type
// without escapes or control bytes, the closing brace), so a line split accepts with a known
// series part is one lineParser accepts, with the same sample.

// storedParts is a stored line cut by split. Every slice points into the line.
type storedParts struct {
	ts    []byte // "2026-11-26T17:20:06.123Z", not yet checked beyond its length
	names []byte // from the client's opening quote to the name's closing quote, `,"name":` included
	value []byte // the number's text
	typ   []byte // the type's text, without quotes; holds no '\\' and no control byte
	tags  []byte // from the type's closing quote to the final '}' (both excluded): `,"tags":{…}` or empty
}

// The fixed texts of a stored line around the parts split cuts.
const (
	storedHead  = `{"timestamp":"`
	storedName  = `,"name":`
	storedValue = `,"value":`
	storedType  = `,"type":"`
)

// split cuts line (without its '\n') into its parts, or reports false when the line is not of
// the plain stored form (lineParser then decides).
func split(line []byte) (storedParts, bool) {
	var p storedParts
	const namesAt = len(storedHead) + timestampLen + len(`","client":`)
	if len(line) < namesAt+2 || string(line[:len(storedHead)]) != storedHead ||
		string(line[len(storedHead)+timestampLen:namesAt]) != `","client":` || line[len(line)-1] != '}' {
		return p, false
	}
	p.ts = line[len(storedHead) : len(storedHead)+timestampLen]
	i := skipString(line, namesAt)
	if i < 0 || !bytes.HasPrefix(line[i:], []byte(storedName)) {
		return p, false
	}
	if i = skipString(line, i+len(storedName)); i < 0 {
		return p, false
	}
	p.names = line[namesAt:i]
	if !bytes.HasPrefix(line[i:], []byte(storedValue)) {
		return p, false
	}
	i += len(storedValue)
	start := i
	for i < len(line) && numberByte[line[i]] {
		i++
	}
	p.value = line[start:i]
	if !bytes.HasPrefix(line[i:], []byte(storedType)) {
		return p, false
	}
	i += len(storedType)
	start = i
	for i < len(line) && line[i] != '"' {
		if line[i] == '\\' || line[i] < 0x20 {
			return p, false
		}
		i++
	}
	if i >= len(line)-1 {
		return p, false
	}
	p.typ = line[start:i]
	p.tags = line[i+1 : len(line)-1]
	return p, true
}

// skipString returns the offset just past the JSON string that starts at line[i] (a '"'), or
// -1. It only finds the end: an escape's next byte is skipped, nothing is checked.
func skipString(line []byte, i int) int {
	if i >= len(line) || line[i] != '"' {
		return -1
	}
	for i++; i < len(line); i++ {
		switch line[i] {
		case '"':
			return i + 1
		case '\\':
			i++
		}
	}
	return -1
}

// numberByte marks the bytes of a JSON number's text.
var numberByte = func() (t [256]bool) {
	for _, c := range []byte("0123456789+-.eE") {
		t[c] = true
	}
	return t
}()

// Bounds of a seriesIDs table and of what an encoder keeps per id: reached, both are emptied
// before the next batch, so that a worker holds at most about 2 × maxSeriesBytes however many
// series the clients invent (the load test's workload has about 2 100).
const (
	maxSeriesIDs   = 1 << 14
	maxSeriesBytes = 4 << 20
)

// seriesIDs gives each distinct series part (names and tags of storedParts) a small id, in
// the order first seen. Owned by one encoder; ids stay valid until reset.
type seriesIDs struct {
	index map[uint64]int32 // hash of the series part → newest id with that hash
	ids   []seriesKey
	keys  []byte // every series part, names then tags, back to back
}

// seriesKey is where one id's series part lies in seriesIDs.keys.
type seriesKey struct {
	start, mid, end int32
	next            int32 // an older id with the same hash, or -1
}

// hashParts is the hash seriesIDs files p's series part under.
func hashParts(p *storedParts) uint64 {
	return xxhash.Sum64(p.names) ^ bits.RotateLeft64(xxhash.Sum64(p.tags), 31)
}

// lookup returns the id of p's series part (hash h), or -1.
func (c *seriesIDs) lookup(h uint64, p *storedParts) int32 {
	id, ok := c.index[h]
	if !ok {
		return -1
	}
	for ; id >= 0; id = c.ids[id].next {
		k := &c.ids[id]
		if bytes.Equal(c.keys[k.start:k.mid], p.names) && bytes.Equal(c.keys[k.mid:k.end], p.tags) {
			return id
		}
	}
	return -1
}

// add files p's series part (hash h, not yet known) under the next id and returns it.
func (c *seriesIDs) add(h uint64, p *storedParts) int32 {
	if c.index == nil {
		c.index = map[uint64]int32{}
	}
	next, ok := c.index[h]
	if !ok {
		next = -1
	}
	k := seriesKey{start: int32(len(c.keys)), next: next}
	c.keys = append(c.keys, p.names...)
	k.mid = int32(len(c.keys))
	c.keys = append(c.keys, p.tags...)
	k.end = int32(len(c.keys))
	id := int32(len(c.ids))
	c.ids = append(c.ids, k)
	c.index[h] = id
	return id
}

// full reports whether the table passed its bounds.
func (c *seriesIDs) full() bool {
	return len(c.ids) >= maxSeriesIDs || len(c.keys) >= maxSeriesBytes
}

// reset forgets every id.
func (c *seriesIDs) reset() {
	clear(c.index)
	c.ids, c.keys = c.ids[:0], c.keys[:0]
}

// knownLine is what seriesIDs.see made of one stored line.
type knownLine struct {
	parts storedParts
	plain bool   // split cut the line
	hash  uint64 // of the series part, when plain
	id    int32  // the series part's id; -1 when new or not plain
	ts    int64  // the sample's time and value, when hit
	value float64
	hit   bool // the series part is known and the time and value converted: no full parse
}

// see cuts line and looks its series part up, converting the time and value of a known one.
func (c *seriesIDs) see(line []byte, times *timeCache) knownLine {
	k := knownLine{id: -1}
	if k.parts, k.plain = split(line); !k.plain {
		return k
	}
	k.hash = hashParts(&k.parts)
	if k.id = c.lookup(k.hash, &k.parts); k.id >= 0 {
		var okTime, okValue bool
		k.ts, okTime = times.millis(k.parts.ts)
		k.value, okValue = parseNumber(k.parts.value)
		k.hit = okTime && okValue
	}
	return k
}

// learn files the series part of a line that see found new, once the full parse accepted it;
// it reports whether it did.
func (c *seriesIDs) learn(k *knownLine) bool {
	if !k.plain || k.id >= 0 {
		return false
	}
	k.id = c.add(k.hash, &k.parts)
	return true
}

// timeCache converts stored timestamps, reusing the conversion of the last date: the lines of
// a batch nearly all fall on one day, in whatever order their seconds come.
type timeCache struct {
	date  [dateLen]byte // "2026-11-26" of the last conversion
	dayMs int64         // its midnight in Unix milliseconds
	valid bool
}

// millis converts ts (a stored timestamp) like lineParser.timestamp; false when it is not one.
func (c *timeCache) millis(ts []byte) (int64, bool) {
	if ts[dateLen] != 'T' {
		return 0, false
	}
	clock, ok := storedClock(ts[dateLen+1:])
	if !ok {
		return 0, false
	}
	if !c.valid || string(c.date[:]) != string(ts[:dateLen]) {
		day, ok := storedDay(ts[:dateLen])
		if !ok {
			return 0, false
		}
		copy(c.date[:], ts[:dateLen])
		c.dayMs, c.valid = day, true
	}
	return c.dayMs + clock, true
}
