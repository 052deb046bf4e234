package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// pgoHotPath names functions of the request path that default.pgo must
// cover: the loop's read of requests, HTTP parsing, both decoders and the
// line encoder. A profile taken without load, or one older than a rename of
// any of them, would guide the build toward code that no longer matters.
var pgoHotPath = []string{
	"metricstream/server.(*conn).readRequests",
	"metricstream/codec.(*Parser).Parse",
	"metricstream/codec.(*JSONDecoder).decodeMetricFast",
	"metricstream/codec.(*LineProtocolDecoder).Decode",
	"metricstream/codec.AppendBatch",
}

// TestDefaultPGO checks that the binary is built with default.pgo and that
// the profile still describes it: enough samples, every function of
// pgoHotPath among them with at least 0.5 % of the profile, and each of
// those still declared in the source. `make pgo` refreshes the profile.
func TestDefaultPGO(t *testing.T) {
	info, err := exec.Command("go", "version", "-m", binPath).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, info)
	}
	if !regexp.MustCompile(`(?m)^\s*build\s+-pgo=\S*default\.pgo$`).Match(info) {
		t.Errorf("the binary was not built with default.pgo; its build settings:\n%s", info)
	}

	top, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount", "100000", "default.pgo").CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof default.pgo: %v\n%s", err, top)
	}
	total := regexp.MustCompile(`Total samples = ([0-9.]+)(m?s)`).FindSubmatch(top)
	if total == nil {
		t.Fatalf("no sample total in the profile's summary:\n%.600s", top)
	}
	secs, _ := strconv.ParseFloat(string(total[1]), 64)
	if string(total[2]) == "ms" {
		secs /= 1000
	}
	if secs < 5 {
		t.Errorf("default.pgo holds %.2f s of samples; want at least 5 (run make pgo)", secs)
	}

	for _, fn := range pgoHotPath {
		cum, ok := cumShare(string(top), fn)
		switch {
		case !ok:
			t.Errorf("default.pgo has no samples in %s (run make pgo)", fn)
		case cum < 0.5:
			t.Errorf("default.pgo gives %s %.2f %% of its samples; want at least 0.5 %% (run make pgo under load)", fn, cum)
		}
		if err := declared(fn); err != nil {
			t.Errorf("default.pgo is stale (run make pgo): %v", err)
		}
	}
}

// profileFuncRE splits a profile's function name of this module into its
// directory, receiver type (or "") and name.
var profileFuncRE = regexp.MustCompile(`^metricstream/(\w+)\.(?:\(\*?(\w+)\)\.)?(\w+)$`)

// declared reports whether fn, a profile's name of the form
// metricstream/<dir>.<Func> or metricstream/<dir>.(*<Type>).<Method>, is
// still declared in the source (a binary would not do: PGO inlines some of
// these functions away).
func declared(fn string) error {
	m := profileFuncRE.FindStringSubmatch(fn)
	if m == nil {
		return fmt.Errorf("%s: not a name of this module's form", fn)
	}
	dir, recv, name := m[1], m[2], m[3]
	files, err := filepath.Glob(filepath.Join("..", "..", dir, "*.go"))
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if ok && fd.Name.Name == name && receiverName(fd) == recv {
				return nil
			}
		}
	}
	return fmt.Errorf("%s is not declared in ./%s any more", fn, dir)
}

// receiverName is the name of fd's receiver type, without a pointer, or ""
// for a function.
func receiverName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	t := fd.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// cumShare returns the cum% of fn in pprof -top output.
func cumShare(top, fn string) (float64, bool) {
	for _, line := range strings.Split(top, "\n") {
		f := strings.Fields(line)
		// flat flat% sum% cum cum% name...
		if len(f) < 6 || strings.Join(f[5:], " ") != fn {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
		return v, err == nil
	}
	return 0, false
}
