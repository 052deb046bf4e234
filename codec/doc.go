// Package codec turns bytes into requests and metrics and metrics back into
// bytes, without allocating on the steady-state path.
//
// It holds three independent pieces:
//
//   - an incremental HTTP/1.1 request parser that reads requests in place
//     from a connection's buffered input (Parser);
//   - input decoders that fill a format-neutral Batch: JSON (JSONDecoder)
//     and, beside it, other formats such as InfluxDB line protocol;
//   - the encoder of storage lines, one JSON object per metric (AppendLine).
//
// Slices returned by the parser and the decoders are views into the caller's
// buffer or into the decoder's own scratch space. Each type documents how
// long its views stay valid; none may be retained past that or handed to
// another goroutine without a copy.
package codec
