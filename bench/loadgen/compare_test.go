package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeSeries is rounds with the given requests per second (over 1 s), a
// flat latency and a resident memory.
func fakeSeries(lat time.Duration, errs int, perSecond ...int) series {
	var s series
	for i, n := range perSecond {
		r := &Result{Elapsed: time.Second, Tokens: n, Errors: map[string]int{}}
		for range n {
			r.Latencies = append(r.Latencies, lat)
		}
		if errs > 0 {
			r.Errors["HTTP 500"] = errs
		}
		s = append(s, round{res: r, cpu: float64(n) / 1000, rssKB: int64(30000 + i*1000)})
	}
	return s
}

func testReport() *report {
	o := compareOptions{rounds: 3, duration: 5 * time.Second, warmup: time.Second, apps: 10000, startups: 5, profileDir: "bin/profiles"}
	ref := &target{name: "baseline"}
	subj := &target{name: "tokenservice"}
	r := &report{opts: o}
	r.scenarios = []*scenario{
		{key: "keepalive", title: "Client-credentials grant, keep-alive", unit: "tokens", ref: ref, subj: subj, levels: []level{
			{concurrency: 1, ref: fakeSeries(time.Millisecond, 0, 1000, 900, 1100), subj: fakeSeries(2*time.Millisecond, 0, 800, 700, 900)},
			{concurrency: 32, ref: fakeSeries(time.Millisecond, 0, 4000, 4000, 4000), subj: fakeSeries(12*time.Millisecond, 1, 2000, 2400, 2200)},
		}},
		{key: "postgres", title: "PostgreSQL as the store", skipped: "PostgreSQL not found"},
		{key: "apps", title: "10 and 10,000 registered applications", unit: "tokens",
			ref: &target{name: "tokenservice, 10 apps"}, subj: &target{name: "tokenservice, 10,000 apps"}, levels: []level{
				{concurrency: 32, ref: fakeSeries(time.Millisecond, 0, 2000, 2000, 2000), subj: fakeSeries(time.Millisecond, 0, 1900, 1950, 1980)},
			}},
	}
	r.foot = footprint{binaryBytes: 30 << 20, idleKB: 20 << 10, hwmKB: 90 << 10, startupApps: 100000,
		readyEmpty: []time.Duration{90 * time.Millisecond, 80 * time.Millisecond, 100 * time.Millisecond},
		readyApps:  []time.Duration{400 * time.Millisecond, 350 * time.Millisecond, 380 * time.Millisecond}}
	return r
}

func TestTokenReport(t *testing.T) {
	r := testReport()
	ka := r.scenarios[0]
	if got := ka.levels[0].ref.throughput(); got != 1000 {
		t.Errorf("median throughput = %v, want 1000", got)
	}
	if got := ka.levels[1].subj.cpuPer1000(); got != 1 {
		t.Errorf("CPU s per 1k tokens = %v, want 1", got)
	}
	md := r.tokenMarkdown()
	for _, want := range []string{
		"## Token endpoint\n", "### Client-credentials grant, keep-alive",
		"| 1 | 1000 | 800 | 0.80× | 1.00 ms / 1.00 ms / 1.00 ms | 2.00 ms / 2.00 ms / 2.00 ms | 0, 0 | 1.000 | 1.000 |",
		"lowest ratio 0.55× (32 clients) | **missed** |",
		"| 12.00 ms (baseline: 1.00 ms) | **missed** |",
		"every comparison) | 3 | **missed** |",
		"Errors of tokenservice at 32 clients: (HTTP 500: 3)",
		"Not measured in this run: PostgreSQL not found",
		"| 0.97× (1950 against 2000 req/s) | met |",
		"Little's law the mean latency is clients ÷ throughput, 14.55 ms for tokenservice",
		"5s measured. 3 rounds per server",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("token report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "#### ") || strings.Count(md, "\n## ") != 0 || !strings.HasPrefix(md, "## ") {
		t.Errorf("a fragment starts with its one ## heading and uses ### below it:\n%s", md)
	}

	ka.levels = ka.levels[:1]
	if got := r.targets(); !strings.Contains(got, "lowest ratio 0.80× (1 client) | met |") || !strings.Contains(got, "not measured (no level of 32 clients)") {
		t.Errorf("targets:\n%s", got)
	}
}

func TestFootprintReport(t *testing.T) {
	md := testReport().footprintMarkdown()
	for _, want := range []string{
		"## Footprint\n",
		"| binary size of `bin/tokenservice` | 30.0 MB | | |",
		"| resident memory, idle after start | 20.0 MB | ≤ 40.0 MB | met |",
		"| resident memory under the 32-client token load | 31.2 MB (baseline: 31.2 MB) | ≤ 120.0 MB | met |",
		"| ready, empty database | 90.00 ms (80.00 ms–100.00 ms) | ≤ 300.00 ms | met |",
		"| ready, 100,000 applications | 380.00 ms (350.00 ms–400.00 ms) | ≤ 300.00 ms | **missed** |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("footprint report lacks %q:\n%s", want, md)
		}
	}
}

func TestParseLevels(t *testing.T) {
	if got, err := parseLevels("1, 32,128"); err != nil || len(got) != 3 || got[2] != 128 {
		t.Errorf("parseLevels = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "-3"} {
		if _, err := parseLevels(bad); err == nil {
			t.Errorf("parseLevels(%q) accepted", bad)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 10: "10", 999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestTrimPprofTop(t *testing.T) {
	out := "File: tokenservice\nBuild ID: abc\nType: cpu\nTime: 2026-01-01\nDuration: 3s, Total samples = 5s\n      flat  flat%\n     1s 20% crypto/ecdsa.sign\n"
	got := trimPprofTop(out)
	if strings.Contains(got, "Build ID") || strings.Contains(got, "File:") || !strings.HasPrefix(got, "Duration: 3s") || !strings.Contains(got, "crypto/ecdsa.sign") {
		t.Errorf("trimPprofTop:\n%s", got)
	}
}

func TestReadCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.jsonl")
	if err := os.WriteFile(path, []byte(`{"client_id":"a","client_secret":"s1"}
{"client_id":"b","client_secret":"s2","scopes":["x:read"]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	apps, err := readCredentials(path)
	if err != nil || len(apps) != 2 || apps[1].ClientID != "b" || apps[1].ClientSecret != "s2" {
		t.Fatalf("readCredentials = %+v, %v", apps, err)
	}
	for _, bad := range []string{"", "{", "not json"} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readCredentials(path); err == nil {
			t.Errorf("credentials %q: no error", bad)
		}
	}
}

// TestP99Budget: 32 clients at 4,000 req/s have a mean of 8 ms; a p99 of
// 24 ms is 3× that, so a 10 ms p99 needs a mean of 3.33 ms, 9,600 req/s,
// which on 2 CPUs leaves 208 µs per request for server and load generator.
func TestP99Budget(t *testing.T) {
	x := fakeSeries(24*time.Millisecond, 0, 4000, 4000, 4000)
	for i := range x {
		x[i].self = 0.4 // 0.1 ms per request beside the server's 1 ms
	}
	budget, used, ok := p99Budget(x, 2)
	if !ok {
		t.Fatal("no budget")
	}
	if want := 2.0 / 9600; budget < want*0.999 || budget > want*1.001 {
		t.Errorf("budget = %v s, want %v s", budget, want)
	}
	if want := 0.0011; used < want*0.999 || used > want*1.001 {
		t.Errorf("used = %v s, want %v s", used, want)
	}
}
