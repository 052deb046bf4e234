package ingest

// ServerConfig configures an HTTP baseline server (nethttpbase and
// fasthttpbase): the same settings for both, so that they run alike.
type ServerConfig struct {
	// Addr is the listen address, e.g. ":8080" or "127.0.0.1:0".
	Addr string
	// DataDir receives the JSON-lines file.
	DataDir string
	// Rate is the per-client limit in requests/s; zero disables it.
	Rate float64
}
