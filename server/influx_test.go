package server

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func basic(userPass string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

// Every form of credentials yields the client id SPEC §4 names, and a
// password never becomes one.
func TestClientIdentity(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("s3cret client-s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		path   string // request target
		header string
		open   string // the client id without -auth-file; "" = 401
		authed string // the client id with -auth-file; "" = 401
	}{
		{"none", "/metrics", "", "default", ""},
		{"bearer", "/metrics", "Authorization: Bearer s3cret", "s3cret", "client-s"},
		{"token scheme", "/api/v2/write", "Authorization: token s3cret", "s3cret", "client-s"},
		{"basic", "/write?db=x", basic("gw-1:s3cret"), "gw-1", "client-s"},
		{"basic, colon in password", "/write", basic("gw-1:s3cret:x"), "gw-1", ""},
		{"basic, no user", "/write", basic(":s3cret"), "default", "client-s"},
		{"basic, undecodable", "/write", "Authorization: Basic ???", "default", ""},
		{"u and p", "/write?db=x&u=gw%2D2&p=s3cret", "", "gw-2", "client-s"},
		{"p alone", "/write?p=s3cret", "", "default", "client-s"},
		{"u and p beside a header", "/write?u=gw-3&p=other", "Authorization: Bearer s3cret", "s3cret", "client-s"},
	}
	for _, auth := range []bool{false, true} {
		data := t.TempDir()
		s := startServer(t, func(c *Config) {
			c.DataDir = data
			if auth {
				c.AuthFile = tokens
			}
		})
		rc := dial(t, s)
		for _, tc := range cases {
			want := tc.open
			if auth {
				want = tc.authed
			}
			batch := "m value=1"
			if strings.HasPrefix(tc.path, "/metrics") {
				batch = `{"metrics":[{"name":"m","value":1}]}`
			}
			req := "POST " + tc.path + " HTTP/1.1\r\nContent-Length: " + itoa(len(batch)) + "\r\n"
			if tc.header != "" {
				req += tc.header + "\r\n"
			}
			rc.send(req + "\r\n" + batch)
			resp := rc.response("POST")
			b := body(t, resp)
			if want == "" {
				if resp.StatusCode != 401 {
					t.Errorf("%s (auth %v): %d %s; want 401", tc.name, auth, resp.StatusCode, b)
				}
				continue
			}
			if resp.StatusCode/100 != 2 {
				t.Fatalf("%s (auth %v): %d %s", tc.name, auth, resp.StatusCode, b)
			}
			lines := readSegments(t, data)
			var m struct{ Client string }
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil || m.Client != want {
				t.Errorf("%s (auth %v): stored client %q; want %q", tc.name, auth, m.Client, want)
			}
		}
	}
}

func TestPingAndQuery(t *testing.T) {
	s := startServer(t, nil)
	rc := dial(t, s)
	for _, m := range []string{"GET", "HEAD"} {
		rc.send(m + " /ping HTTP/1.1\r\n\r\n")
		resp := rc.response(m)
		if resp.StatusCode != 204 || resp.Header.Get("X-Influxdb-Version") == "" {
			t.Fatalf("%s /ping: %d %v", m, resp.StatusCode, resp.Header)
		}
	}
	rc.send("POST /write?db=seen%2Done HTTP/1.1\r\nContent-Length: 9\r\n\r\nm value=1")
	if resp := rc.response("POST"); resp.StatusCode != 204 {
		t.Fatalf("write: %d", resp.StatusCode)
	}
	cases := []struct {
		name   string
		req    string
		status int
		body   string
	}{
		{"create", "POST /query?q=CREATE+DATABASE+%22made%22 HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 200, `{"results":[{"statement_id":0}]}`},
		{"create in a form body", "POST /query HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 35\r\n\r\nq=create%20database%20form+WITH+x+y", 200, `{"results":[{"statement_id":0}]}`},
		{"show", "GET /query?q=SHOW%20DATABASES; HTTP/1.1\r\n\r\n", 200,
			`{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[["seen-one"],["made"],["form"]]}]}]}`},
		{"select", "GET /query?q=SELECT+*+FROM+m HTTP/1.1\r\n\r\n", 400,
			`{"error":"queries are not served: MetricStream only ingests (CREATE DATABASE and SHOW DATABASES are answered)"}`},
		{"show measurements", "GET /query?q=SHOW+MEASUREMENTS HTTP/1.1\r\n\r\n", 400, ""},
		{"create without a name", "GET /query?q=CREATE+DATABASE HTTP/1.1\r\n\r\n", 400, `{"error":"CREATE DATABASE needs a name"}`},
		{"no statement", "GET /query HTTP/1.1\r\n\r\n", 400, ""},
	}
	for _, tc := range cases {
		rc.send(tc.req)
		resp := rc.response("GET")
		b := body(t, resp)
		if resp.StatusCode != tc.status || tc.body != "" && b != tc.body {
			t.Errorf("%s: %d %s; want %d %s", tc.name, resp.StatusCode, b, tc.status, tc.body)
		}
		if tc.status == 400 && resp.Header.Get("X-Influxdb-Error") == "" {
			t.Errorf("%s: no X-Influxdb-Error", tc.name)
		}
	}
}
