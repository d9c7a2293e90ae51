package main

import (
	"strings"
	"testing"
	"time"
)

// fakeSeries is rounds with the given tokens per second (over 1 s) and a
// flat latency.
func fakeSeries(lat time.Duration, errs int, perSecond ...int) series {
	var s series
	for _, n := range perSecond {
		r := &Result{Elapsed: time.Second, Tokens: n, Errors: map[string]int{}}
		for range n {
			r.Latencies = append(r.Latencies, lat)
		}
		if errs > 0 {
			r.Errors["HTTP 500"] = errs
		}
		s = append(s, round{res: r, cpu: float64(n) / 1000})
	}
	return s
}

func TestReport(t *testing.T) {
	r := &report{commit: "`abc1234`", date: "2026-01-01 00:00 UTC", cpuModel: "Test CPU", cpus: 2, goVersion: "go1.26",
		opts: compareOptions{rounds: 3, duration: 5 * time.Second, warmup: time.Second}}
	r.levels = []level{
		{concurrency: 1, baseline: fakeSeries(time.Millisecond, 0, 1000, 900, 1100), tokens: fakeSeries(2*time.Millisecond, 0, 800, 700, 900)},
		{concurrency: 32, baseline: fakeSeries(time.Millisecond, 0, 4000, 4000, 4000), tokens: fakeSeries(12*time.Millisecond, 1, 2000, 2400, 2200)},
	}
	if got := r.levels[0].baseline.throughput(); got != 1000 {
		t.Errorf("median throughput = %v, want 1000", got)
	}
	if got := r.levels[1].tokens.cpuPer1000(); got != 1 {
		t.Errorf("CPU s per 1k tokens = %v, want 1", got)
	}
	md := r.markdown()
	for _, want := range []string{
		"`go tool task bench`", "| commit | `abc1234` |", "| CPU | Test CPU |",
		"| 1 | 1000 | 800 | 0.80× | 1.00 ms | 1.00 ms | 2.00 ms | 2.00 ms | 0 | 0 | 1.000 | 1.000 |",
		"lowest ratio 0.55× (32 clients) | **missed** |",
		"| 12.00 ms (baseline: 1.00 ms) | **missed** |",
		"warm-ups included) | 3 | **missed** |",
		"Errors of tokenservice at 32 clients: (HTTP 500: 3)",
		"| clients | loadgen CPU s/1k tokens, baseline rounds |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}

	r.levels = r.levels[:1]
	if got := r.targets(); !strings.Contains(got, "lowest ratio 0.80× (1 client) | met |") || !strings.Contains(got, "not measured") ||
		!strings.Contains(got, "| 0 | met |") {
		t.Errorf("targets:\n%s", got)
	}
}
