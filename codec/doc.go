// Package codec turns bytes into requests and metrics and metrics back into
// bytes, without allocating on the steady-state path.
//
// It holds three independent pieces:
//
//   - an incremental HTTP/1.1 request parser that reads requests in place
//     from a connection's buffered input (Parser), with chunked and gzip
//     bodies;
//   - input decoders that fill a format-neutral Batch: JSON (JSONDecoder)
//     and, beside it, InfluxDB line protocol (LineProtocolDecoder);
//   - the encoder of storage lines, one JSON object per metric
//     (AppendBatch for a decoded batch, AppendLine for one metric).
//
// The JSON decoder is split by concern: json.go holds its API and errors,
// json_rules.go the batch rules, json_scan.go the tokenizer, plain.go the
// eight-bytes-at-a-time string scan that the encoder shares, tagset.go the
// duplicate-tag detection, float.go and timestamp.go the conversions of
// numbers and RFC 3339 times in both directions.
//
// The HTTP parser shares nothing with the metric formats but
// EqualFoldASCII, so it deserves a package of its own (an "http1" beside
// codec); it stays here until the branches that import codec.Parser and
// codec.Request have merged, and then moves in one commit.
//
// Slices returned by the parser and the decoders are views into the caller's
// buffer or into the decoder's own scratch space. Each type documents how
// long its views stay valid; none may be retained past that or handed to
// another goroutine without a copy.
package codec
