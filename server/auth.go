package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"os"

	"metricstream/codec"
)

// tokenTable maps bearer tokens to client ids. It is immutable once built;
// ReloadAuth swaps in a new one atomically, so readers never lock.
//
// Lookup hashes the presented token with SHA-256 and finds the entry by
// hash, then compares the token itself in constant time: the time taken
// depends on neither the token's bytes nor how much of it matched.
type tokenTable struct {
	byHash map[[sha256.Size]byte]tokenEntry
}

type tokenEntry struct {
	token  []byte
	client []byte
}

func (t *tokenTable) len() int { return len(t.byHash) }

// lookup returns the client id for token.
func (t *tokenTable) lookup(token []byte) ([]byte, bool) {
	if len(token) == 0 {
		return nil, false
	}
	e, ok := t.byHash[sha256.Sum256(token)]
	if !ok {
		return nil, false
	}
	if subtle.ConstantTimeCompare(e.token, token) != 1 {
		return nil, false
	}
	return e.client, true
}

// loadTokenFile reads lines "token client-id"; blank lines and lines
// starting with # are skipped. Errors name the line, never the token.
func loadTokenFile(path string) (*tokenTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read -auth-file: %w", err)
	}
	defer f.Close()
	t := &tokenTable{byHash: make(map[[sha256.Size]byte]tokenEntry)}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		fields := bytes.Fields(text)
		if len(fields) != 2 {
			return nil, fmt.Errorf("-auth-file %s line %d: want \"token client-id\", got %d fields", path, line, len(fields))
		}
		if len(fields[1]) > maxClientIDBytes {
			return nil, fmt.Errorf("-auth-file %s line %d: client id longer than %d bytes", path, line, maxClientIDBytes)
		}
		h := sha256.Sum256(fields[0])
		if _, dup := t.byHash[h]; dup {
			return nil, fmt.Errorf("-auth-file %s line %d: token repeats an earlier line", path, line)
		}
		t.byHash[h] = tokenEntry{token: bytes.Clone(fields[0]), client: bytes.Clone(fields[1])}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read -auth-file %s: %w", path, err)
	}
	return t, nil
}

// identify returns the client id of req, which check has routed to an
// action that needs one, and whether req may proceed.
//
// The credential is the Authorization value less a "Bearer " or "Token "
// scheme; for "Basic" credentials and for the InfluxDB v1 u and p query
// parameters (read when there is no Authorization header), the user name
// and the password. Without -auth-file the client id is the bearer value
// or the user name, else "default"; the password is dropped. With
// -auth-file the token (the bearer value, or the password) must be in the
// file, which gives the client id; ok is false otherwise.
//
// The returned id may point into the loop's scratch buffers: it is valid
// until the loop handles its next request. Passwords are never copied
// anywhere but that scratch, never logged and never stored.
func (c *conn) identify(req *codec.Request) (client []byte, ok bool) {
	user, token, password := c.credentials(req)
	t := c.ls.srv.auth.Load()
	if t != nil {
		return t.lookup(token)
	}
	if !password {
		user = token // a bearer value is the client id itself
	}
	if len(user) == 0 {
		return defaultClient, true
	}
	return user, true
}

var defaultClient = []byte("default")

// credentials splits what req presents into a user name and a token: a
// Bearer or Token value (password false), or Basic credentials and else the
// u and p query parameters (password true: the token is a password).
func (c *conn) credentials(req *codec.Request) (user, token []byte, password bool) {
	v := req.Authorization
	switch {
	case hasScheme(v, "bearer "):
		return nil, bytes.TrimLeft(v[len("bearer "):], " "), false
	case hasScheme(v, "token "):
		return nil, bytes.TrimLeft(v[len("token "):], " "), false
	case hasScheme(v, "basic "):
		user, token = c.basic(bytes.TrimSpace(v[len("basic "):]))
		return user, token, true
	case len(v) > 0:
		return nil, v, false
	}
	ls := c.ls
	if u := queryParam(req.Query, "u"); u != nil {
		ls.user = unescapeQuery(ls.user[:0], u)
		user = ls.user
	}
	if p := queryParam(req.Query, "p"); p != nil {
		ls.secret = unescapeQuery(ls.secret[:0], p)
		token = ls.secret
	}
	return user, token, true
}

func hasScheme(v []byte, lower string) bool {
	return len(v) >= len(lower) && codec.EqualFoldASCII(v[:len(lower)], lower)
}

// basic decodes Basic credentials "user:password" (RFC 7617) into the
// loop's scratch. Undecodable credentials yield no user and no token.
func (c *conn) basic(enc []byte) (user, password []byte) {
	ls := c.ls
	n := base64.StdEncoding.DecodedLen(len(enc))
	if cap(ls.secret) < n {
		ls.secret = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(ls.secret[:n], enc)
	if err != nil {
		return nil, nil
	}
	user, password, _ = bytes.Cut(ls.secret[:n], []byte{':'})
	return user, password
}

// unescapeQuery appends the query value v to dst with %XX escapes and '+'
// decoded; a malformed escape is kept as it is.
func unescapeQuery(dst, v []byte) []byte {
	for i := 0; i < len(v); i++ {
		switch b := v[i]; {
		case b == '+':
			dst = append(dst, ' ')
		case b == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]):
			dst = append(dst, unhex(v[i+1])<<4|unhex(v[i+2]))
			i += 2
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

func unhex(b byte) byte {
	switch {
	case b <= '9':
		return b - '0'
	case b <= 'F':
		return b - 'A' + 10
	}
	return b - 'a' + 10
}

// statsAuthorized reports whether req may read statistics: always, unless
// -auth-file and -auth-stats are both on; then it needs a known token.
func (c *conn) statsAuthorized(req *codec.Request) bool {
	s := c.ls.srv
	t := s.auth.Load()
	if t == nil || !s.cfg.AuthStats {
		return true
	}
	_, token, _ := c.credentials(req)
	_, ok := t.lookup(token)
	return ok
}
