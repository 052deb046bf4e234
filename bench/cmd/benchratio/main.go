// Command benchratio reads `go test -bench` output on stdin and prints, as
// a markdown table, the median of every benchmark's results over the runs
// (-count) and its gain over the first variant of its group: the
// sub-benchmarks that differ only in their last name element, in the order
// they first ran. bench/journey names its naive variant first, so the gain
// is what the technique bought:
//
//	go test -run '^$' -bench . -benchmem -count 5 ./bench/journey/ | go run ./bench/cmd/benchratio
//
// The gain is the first variant's median over this one's: for ns/op and
// for every unit where less is better (B/op, allocs/op, held-MiB, heap-MiB).
// -vary K makes element K of the '/'-separated name the variant instead
// (0 is the Benchmark function), for benchmarks that name their variants
// higher up, such as storage's BenchmarkStreamCommit/<writer>/<ack>:
//
//	go test -run '^$' -bench BenchmarkStreamCommit -count 5 ./storage/ | go run ./bench/cmd/benchratio -vary 1
//
// Exit status 1 when the input holds no benchmark line, 2 for bad flags.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	vary := flag.Int("vary", -1, "the `element` of the '/'-separated benchmark name that names the variant (0 is the function; -1 the last)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "benchratio: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	results, err := parse(os.Stdin)
	if err == nil && len(results) == 0 {
		err = fmt.Errorf("no benchmark lines on stdin")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchratio: %v\n", err)
		os.Exit(1)
	}
	write(os.Stdout, results, *vary)
}

// result is every value one benchmark reported, by unit, over the runs.
type result struct {
	name   string // without the -GOMAXPROCS suffix
	units  []string
	values map[string][]float64
}

// group splits the name at element vary (-1: the last) into the variant
// and the group: the name with the variant replaced by "*".
func (r *result) group(vary int) (group, variant string) {
	parts := strings.Split(r.name, "/")
	if vary < 0 || vary >= len(parts) {
		vary = len(parts) - 1
	}
	if vary == 0 {
		return r.name, ""
	}
	variant = parts[vary]
	parts[vary] = "*"
	return strings.Join(parts, "/"), variant
}

// procsSuffix is the -GOMAXPROCS suffix go test appends to names.
var procsSuffix = regexp.MustCompile(`-\d+$`)

// parse reads benchmark lines, "BenchmarkX/y-2  1000  123 ns/op  4 B/op",
// and collects their values in the order the benchmarks first appear.
func parse(r io.Reader) ([]*result, error) {
	var out []*result
	byName := map[string]*result{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procsSuffix.ReplaceAllString(f[0], "")
		res := byName[name]
		if res == nil {
			res = &result{name: name, values: map[string][]float64{}}
			byName[name] = res
			out = append(out, res)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q: %v", f[0], f[i], err)
			}
			unit := f[i+1]
			if _, seen := res.values[unit]; !seen {
				res.units = append(res.units, unit)
			}
			res.values[unit] = append(res.values[unit], v)
		}
	}
	return out, sc.Err()
}

// lessIsBetter are the units whose gain is reported.
var lessIsBetter = []string{"ns/op", "B/op", "allocs/op", "held-MiB", "heap-MiB"}

// write prints one row per benchmark: its medians and its gains over the
// first variant of its group.
func write(w io.Writer, results []*result, vary int) {
	fmt.Fprintln(w, "| benchmark | variant | runs | medians | gain over the first variant |")
	fmt.Fprintln(w, "| --- | --- | ---: | --- | --- |")
	first := map[string]*result{}
	for _, r := range results {
		g, v := r.group(vary)
		base := first[g]
		if base == nil {
			first[g], base = r, r
		}
		var medians, gains []string
		for _, u := range r.units {
			m := median(r.values[u])
			medians = append(medians, number(m)+" "+u)
			if base != r && slices.Contains(lessIsBetter, u) {
				// Below 1 B/op or alloc/op a ratio says nothing.
				if bm := median(base.values[u]); m >= 1 && bm >= 1 {
					gains = append(gains, strconv.FormatFloat(bm/m, 'f', 2, 64)+"× "+u)
				}
			}
		}
		gain := "(baseline)"
		if base != r {
			gain = strings.Join(gains, ", ")
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s |\n", g, v, len(r.values[r.units[0]]), strings.Join(medians, ", "), gain)
	}
}

// number prints v in whole units from 100 on, else with four significant
// digits.
func number(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// median is the middle value of vs (the mean of the two middle ones for an
// even count); vs is not modified.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
