package main

// The README's examples are run against the real binary, so that the
// documentation cannot drift from the server: every curl example of the
// "## API" section must print exactly the answer shown under it, and the
// flags table must agree with `metricstream -h`.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ecoReadmePath is the README, relative to this package's directory.
const ecoReadmePath = "../../README.md"

// ecoFence is one fenced code block of the README.
type ecoFence struct {
	lang  string // info string after the opening fence, e.g. "sh"
	body  string // the lines between the fences, each ending in '\n'
	first int    // 1-based line number of the opening fence
	last  int    // 1-based line number of the closing fence
}

// ecoReadmeSection returns the lines of the README section whose heading is
// exactly heading (a "## " line), up to the next "## " heading, and the
// 1-based number of the heading line.
func ecoReadmeSection(t *testing.T, heading string) ([]string, int) {
	t.Helper()
	data, err := os.ReadFile(ecoReadmePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	start := -1
	for i, l := range lines {
		if start < 0 {
			if strings.TrimSpace(l) == heading {
				start = i
			}
			continue
		}
		if strings.HasPrefix(l, "## ") {
			return lines[start:i], start + 1
		}
	}
	if start < 0 {
		t.Fatalf("README has no %q section", heading)
	}
	return lines[start:], start + 1
}

// ecoFences returns the fenced code blocks of lines, whose first line is
// line number base of the file.
func ecoFences(t *testing.T, lines []string, base int) []ecoFence {
	t.Helper()
	var fences []ecoFence
	var cur *ecoFence
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if !strings.HasPrefix(trimmed, "```") {
			if cur != nil {
				cur.body += l + "\n"
			}
			continue
		}
		if cur == nil {
			cur = &ecoFence{lang: strings.TrimSpace(strings.TrimPrefix(trimmed, "```")), first: base + i}
			continue
		}
		cur.last = base + i
		fences = append(fences, *cur)
		cur = nil
	}
	if cur != nil {
		t.Fatalf("README line %d: code block never closed", cur.first)
	}
	return fences
}

// ecoOnlyBlankBetween reports whether the README lines strictly between
// line numbers a and b (section lines starting at base) are all blank.
func ecoOnlyBlankBetween(lines []string, base, a, b int) bool {
	for n := a + 1; n < b; n++ {
		if strings.TrimSpace(lines[n-base]) != "" {
			return false
		}
	}
	return true
}

// ecoShellEnv is the environment for the examples: the test's, without
// proxy settings that would send loopback requests elsewhere.
func ecoShellEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.EqualFold(k, "http_proxy") || strings.EqualFold(k, "https_proxy") || strings.EqualFold(k, "all_proxy") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "no_proxy=*", "NO_PROXY=*")
}

func TestReadmeAPIExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed; skipping the README examples")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed; skipping the README examples")
	}
	lines, base := ecoReadmeSection(t, "## API")
	fences := ecoFences(t, lines, base)

	p := startProc(t, t.TempDir(), "-ack", "written")
	examples, checked := 0, 0
	for i := 0; i < len(fences); i++ {
		f := fences[i]
		if f.lang != "sh" {
			continue
		}
		firstLine := strings.TrimSpace(strings.SplitN(strings.TrimSpace(f.body), "\n", 2)[0])
		var want *ecoFence
		if strings.HasPrefix(firstLine, "curl") || strings.HasPrefix(firstLine, "echo") {
			if i+1 < len(fences) && (fences[i+1].lang == "json" || fences[i+1].lang == "text") &&
				ecoOnlyBlankBetween(lines, base, f.last, fences[i+1].first) {
				want = &fences[i+1]
				i++ // the expected block is not itself an example
			}
		}
		script := strings.ReplaceAll(f.body, "localhost:8080", p.addr)
		examples++
		t.Run("line "+strconv.Itoa(f.first), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bash, "-o", "pipefail", "-c", script)
			cmd.Env = ecoShellEnv()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("README line %d: the example fails: %v\n%s\nstderr: %s", f.first, err, f.body, stderr.String())
			}
			if want == nil {
				return
			}
			got, exp := strings.TrimSpace(stdout.String()), strings.TrimSpace(want.body)
			if got != exp {
				t.Errorf("README line %d: the example prints\n%s\nbut the README (line %d) shows\n%s\nexample:\n%s",
					f.first, got, want.first, exp, f.body)
			}
		})
		if want != nil {
			checked++
		}
	}
	if checked == 0 {
		t.Fatalf("no example with an expected answer found in the README's API section (%d sh blocks run)", examples)
	}
	t.Logf("%d README examples run, %d compared with their expected answer", examples, checked)
	ecoStopProc(t, p)
}

// ecoReadmeFlagRowRE matches a row of the README's flags table: the flag,
// then its default column.
var ecoReadmeFlagRowRE = regexp.MustCompile("^\\| `-([a-z0-9-]+)` \\| ([^|]*) \\|")

// ecoSizeRE matches a size written for people, such as "64 MiB".
var ecoSizeRE = regexp.MustCompile(`^([0-9]+) (KiB|MiB|GiB)$`)

// ecoSameDefault reports whether the README's default doc matches help,
// the default that `-h` prints, allowing the README's human spellings
// ("64 MiB", "10m", "4 MiB").
func ecoSameDefault(doc, help string) bool {
	doc = strings.Trim(strings.TrimSpace(doc), "`")
	if doc == help {
		return true
	}
	if m := ecoSizeRE.FindStringSubmatch(doc); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		shift := map[string]uint{"KiB": 10, "MiB": 20, "GiB": 30}[m[2]]
		return strconv.FormatInt(n<<shift, 10) == help
	}
	dd, err1 := time.ParseDuration(doc)
	hd, err2 := time.ParseDuration(help)
	return err1 == nil && err2 == nil && dd == hd
}

func TestReadmeFlagsMatchHelp(t *testing.T) {
	lines, _ := ecoReadmeSection(t, "## Flags")
	documented := map[string]string{}
	for _, l := range lines {
		if m := ecoReadmeFlagRowRE.FindStringSubmatch(l); m != nil {
			documented[m[1]] = m[2]
		}
	}
	if len(documented) == 0 {
		t.Fatal("no flag rows found in the README's flags table")
	}
	out, err := exec.Command(binPath, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v", err)
	}
	helpFlags := map[string]bool{}
	for l := range strings.Lines(string(out)) {
		if m := ecoHelpFlagRE.FindStringSubmatch(l); m != nil {
			helpFlags[m[1]] = true
		}
	}
	for f := range documented {
		if !helpFlags[f] {
			t.Errorf("README documents -%s, which -h does not list", f)
		}
	}
	for f := range helpFlags {
		if _, ok := documented[f]; !ok && f != "version" && f != "h" {
			t.Errorf("-h lists -%s, which the README's flags table lacks", f)
		}
	}
	// Defaults that -h prints must read the same in the README, except the
	// ones that depend on the machine.
	compared := 0
	for f, help := range ecoHelpDefaults(t) {
		doc, ok := documented[f]
		if !ok || f == "loops" {
			continue // -loops defaults to the CPU count, "CPUs" in the README
		}
		compared++
		if !ecoSameDefault(doc, help) {
			t.Errorf("-%s: README default %q, -h default %q", f, strings.TrimSpace(doc), help)
		}
	}
	t.Logf("%d flags documented, %d defaults compared with -h", len(documented), compared)
}
