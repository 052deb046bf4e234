package main

// The real Python InfluxDB client (Debian python3-influxdb 5.3) against the
// binary: ping, CREATE DATABASE, SHOW DATABASES, write_points with and
// without gzip, a bad point and a query, with Basic credentials whose
// password must never reach the disk, the log or /clients.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pythonClientScript drives influxdb.InfluxDBClient; it prints one JSON
// object with what the client saw.
const pythonClientScript = `
import json, sys
from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
out = {}
def client(gz):
    return InfluxDBClient(host=host, port=port, username=user, password=password,
                          database="telemetry", gzip=gz, timeout=10)
c = client(False)
out["version"] = c.ping()
c.create_database("telemetry")
out["databases"] = [d["name"] for d in c.get_list_database()]
point = lambda name, v: {"measurement": name, "tags": {"host": "gw-1"},
                         "time": 1764172800000000000 + v, "fields": {"value": float(v)}}
out["plain"] = c.write_points([point("py_plain", 1), point("py_plain", 2)])
out["gzip"] = client(True).write_points([point("py_gzip", 3)])
def refused(f):
    try:
        f()
        return None
    except InfluxDBClientError as e:
        return {"code": e.code, "content": str(e.content)}
out["bad_point"] = refused(lambda: c.write(["py_bad value=1 1", "py_bad value= 2"], protocol="line"))
out["select"] = refused(lambda: c.query("SELECT * FROM py_plain"))
print(json.dumps(out))
`

type pythonClientResult struct {
	Version   string
	Databases []string
	Plain     bool
	Gzip      bool
	BadPoint  *struct {
		Code    int
		Content string
	} `json:"bad_point"`
	Select *struct {
		Code    int
		Content string
	}
}

func TestInfluxPythonClient(t *testing.T) {
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import influxdb").Run(); err != nil {
		t.Skip("the Python InfluxDB client is not installed (Debian package python3-influxdb)")
	}
	const user, password = "edge-gw", "pa55-word:secret" // a colon: only the first one ends the user name
	authFile := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(authFile, []byte(password+" gateway-7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "client.py")
	if err := os.WriteFile(script, []byte(pythonClientScript), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		client string // the stored client id
	}{
		{"no auth file: the user name is the client", nil, user},
		{"auth file: the password is the token", []string{"-auth-file", authFile, "-auth-stats", "false"}, "gateway-7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startProc(t, t.TempDir(), append([]string{"-ack", "written"}, tc.args...)...)
			host, port, _ := strings.Cut(p.addr, ":")
			cmd := exec.Command(python, script, host, port, user, password)
			cmd.Env = append(os.Environ(), "NO_PROXY=*", "no_proxy=*")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			timer := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
			out, err := cmd.Output()
			timer.Stop()
			if err != nil {
				t.Fatalf("python client: %v\n%s\nserver log:\n%s", err, stderr.String(), p.logs.String())
			}
			var r pythonClientResult
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("python client printed %q: %v", out, err)
			}
			checkPythonResult(t, &r)
			lines := ecoDecodeLines(t, ecoSegmentLines(t, p.dir))
			names := map[string]int{}
			for _, l := range lines {
				names[l.Name]++
				if l.Client != tc.client {
					t.Errorf("stored client %q; want %q", l.Client, tc.client)
				}
			}
			if names["py_plain"] != 2 || names["py_gzip"] != 1 || names["py_bad"] != 0 || len(lines) != 3 {
				t.Errorf("stored %v; want py_plain twice and py_gzip once", names)
			}
			_, clients, err := ecoGet("http://" + p.addr + "/clients")
			if err != nil {
				t.Fatal(err)
			}
			ecoStopProc(t, p)
			assertNoSecret(t, password, p.dir, p.logs.String(), string(clients))
		})
	}
}

func checkPythonResult(t *testing.T, r *pythonClientResult) {
	t.Helper()
	if r.Version == "" {
		t.Errorf("ping: no X-Influxdb-Version")
	}
	if len(r.Databases) != 1 || r.Databases[0] != "telemetry" {
		t.Errorf("get_list_database: %v; want [telemetry]", r.Databases)
	}
	if !r.Plain || !r.Gzip {
		t.Errorf("write_points: plain %v, gzip %v; want both true", r.Plain, r.Gzip)
	}
	if r.BadPoint == nil || r.BadPoint.Code != 400 || !strings.Contains(r.BadPoint.Content, "line 2") {
		t.Errorf("bad point: %+v; want a 400 naming line 2", r.BadPoint)
	}
	if r.Select == nil || r.Select.Code != 400 || !strings.Contains(r.Select.Content, "queries are not served") {
		t.Errorf("SELECT: %+v; want a 400 saying queries are not served", r.Select)
	}
}

// assertNoSecret fails if secret appears in any file under dir, in the
// log or in the /clients answer.
func assertNoSecret(t *testing.T, secret, dir, logs, clients string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(b), secret) {
			t.Errorf("the password is stored in %s", filepath.Base(path))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs, secret) {
		t.Errorf("the password appears in the server log")
	}
	if strings.Contains(clients, secret) {
		t.Errorf("the password appears in /clients: %s", clients)
	}
}
