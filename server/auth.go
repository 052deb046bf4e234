package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"
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
