package codec

// EqualFoldASCII reports whether b equals lower, a lower-case ASCII
// constant, ignoring ASCII case. It does not allocate. It is the one
// case-fold helper of the module; the HTTP parser uses it too.
func EqualFoldASCII(b []byte, lower string) bool { return httpEqualFold(b, lower) }
