package journey

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// NaiveMetric is one metric as NaiveDecode returns it: every value copied
// into its own string and the tags into a map, as the C++ predecessor kept
// them in std::string and std::map.
type NaiveMetric struct {
	Name      string
	Value     float64
	Type      string
	Tags      map[string]string
	Timestamp int64
}

// ErrNaiveSyntax reports a body NaiveDecode cannot take apart.
var ErrNaiveSyntax = errors.New("journey: naive parser: malformed batch")

// NaiveDecode is the C++ phase-3 predecessor: a find-based parser. It copies
// the body into a string, finds "metrics" and the array, then for each
// object finds its end by counting braces and searches the object again
// from its start for every field ("name", "value", "type", "timestamp",
// "tags"), copying each value out. Every field costs a fresh scan of the
// object, and every value an allocation.
//
// It handles the batches bench.AppendBatch generates (no escapes, no
// braces inside strings), which is all it is measured on; it is not a
// JSON parser.
func NaiveDecode(body []byte) ([]NaiveMetric, error) {
	s := string(body)
	mp := strings.Index(s, `"metrics"`)
	if mp < 0 {
		return nil, fmt.Errorf("%w: no \"metrics\"", ErrNaiveSyntax)
	}
	open := strings.Index(s[mp:], "[")
	if open < 0 {
		return nil, fmt.Errorf("%w: no array after \"metrics\"", ErrNaiveSyntax)
	}
	pos := mp + open + 1
	var out []NaiveMetric
	for {
		start := strings.Index(s[pos:], "{")
		closing := strings.Index(s[pos:], "]")
		if start < 0 || (closing >= 0 && closing < start) {
			return out, nil
		}
		start += pos
		end := matchBrace(s, start)
		if end < 0 {
			return nil, fmt.Errorf("%w: object at byte %d does not end", ErrNaiveSyntax, start)
		}
		m, err := naiveMetric(s[start : end+1])
		if err != nil {
			return nil, fmt.Errorf("%w: object at byte %d: %v", ErrNaiveSyntax, start, err)
		}
		out = append(out, m)
		pos = end + 1
	}
}

// naiveMetric takes one object apart, one search per field.
func naiveMetric(obj string) (NaiveMetric, error) {
	var m NaiveMetric
	var err error
	if m.Name, err = stringField(obj, "name"); err != nil {
		return m, err
	}
	if m.Type, err = stringField(obj, "type"); err != nil {
		return m, err
	}
	if m.Value, err = numberField(obj, "value"); err != nil {
		return m, err
	}
	ts, err := numberField(obj, "timestamp")
	if err != nil {
		return m, err
	}
	m.Timestamp = int64(ts)
	m.Tags, err = tagsField(obj)
	return m, err
}

// matchBrace returns the index of the brace closing the one at s[open], or
// -1.
func matchBrace(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// valueAt returns what follows the colon after "key" in obj.
func valueAt(obj, key string) (string, error) {
	k := strings.Index(obj, `"`+key+`"`)
	if k < 0 {
		return "", fmt.Errorf("no %q", key)
	}
	rest := obj[k+len(key)+2:]
	colon := strings.Index(rest, ":")
	if colon < 0 {
		return "", fmt.Errorf("no colon after %q", key)
	}
	return strings.TrimLeft(rest[colon+1:], " \t\r\n"), nil
}

// stringField copies out the string value of key.
func stringField(obj, key string) (string, error) {
	v, err := valueAt(obj, key)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(v, `"`) {
		return "", fmt.Errorf("%q is not a string", key)
	}
	end := strings.Index(v[1:], `"`)
	if end < 0 {
		return "", fmt.Errorf("%q does not end", key)
	}
	return strings.Clone(v[1 : end+1]), nil
}

// numberField parses the number value of key.
func numberField(obj, key string) (float64, error) {
	v, err := valueAt(obj, key)
	if err != nil {
		return 0, err
	}
	end := strings.IndexAny(v, ",}")
	if end < 0 {
		return 0, fmt.Errorf("%q does not end", key)
	}
	return strconv.ParseFloat(strings.TrimSpace(v[:end]), 64)
}

// tagsField copies the "tags" object into a map.
func tagsField(obj string) (map[string]string, error) {
	v, err := valueAt(obj, "tags")
	if err != nil {
		return nil, err
	}
	end := strings.Index(v, "}")
	if !strings.HasPrefix(v, "{") || end < 0 {
		return nil, errors.New(`"tags" is not an object`)
	}
	tags := map[string]string{}
	for pair := range strings.SplitSeq(v[1:end], ",") {
		k, val, ok := strings.Cut(pair, ":")
		if !ok {
			return nil, fmt.Errorf("tag %q", pair)
		}
		tags[strings.Trim(strings.TrimSpace(k), `"`)] = strings.Trim(strings.TrimSpace(val), `"`)
	}
	return tags, nil
}
