package forward

import "unicode/utf8"

// Prometheus name rules (https://prometheus.io/docs/concepts/data_model/): metric names match
// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*, and label names starting with
// "__" are reserved. The forwarder maps every stored name onto them:
//
//   - each character outside the allowed set (one rune, however many bytes) becomes '_';
//   - a name starting with a digit gets a leading '_';
//   - a tag key that would start with "__" gets the prefix "tag" ("__x" → "tag__x"), so that no
//     tag can pose as __name__ or another reserved label.

// appendMetricName appends name sanitised to the metric-name rules.
func appendMetricName(dst, name []byte) []byte {
	return appendSanitized(dst, name, true)
}

// appendLabelName appends key sanitised to the label-name rules.
func appendLabelName(dst, key []byte) []byte {
	start := len(dst)
	dst = appendSanitized(dst, key, false)
	if len(dst)-start >= 2 && dst[start] == '_' && dst[start+1] == '_' {
		dst = append(dst, "tag"...)
		copy(dst[start+3:], dst[start:len(dst)-3])
		copy(dst[start:], "tag")
	}
	return dst
}

// appendSanitized replaces each rune outside [a-zA-Z0-9_] (plus ':' when colon) by '_' and
// prefixes '_' to a leading digit. An empty input yields "_".
func appendSanitized(dst, s []byte, colon bool) []byte {
	if len(s) == 0 {
		return append(dst, '_')
	}
	if s[0] >= '0' && s[0] <= '9' {
		dst = append(dst, '_')
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			_, size := utf8.DecodeRune(s[i:])
			dst = append(dst, '_')
			i += size
			continue
		}
		if nameChar[c] || (colon && c == ':') {
			dst = append(dst, c)
		} else {
			dst = append(dst, '_')
		}
		i++
	}
	return dst
}

// nameChar marks the ASCII bytes allowed anywhere in a label name: [a-zA-Z0-9_].
var nameChar = func() (t [utf8.RuneSelf]bool) {
	for c := 0; c < utf8.RuneSelf; c++ {
		t[c] = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
	}
	return t
}()
