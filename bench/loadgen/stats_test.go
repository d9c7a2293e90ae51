package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(n int) []time.Duration {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(i+1) * time.Millisecond // 1ms … n ms
		}
		return s
	}
	tests := []struct {
		n    int
		p    float64
		want time.Duration
	}{
		{0, 50, 0},
		{1, 50, time.Millisecond},
		{1, 99.9, time.Millisecond},
		{2, 50, time.Millisecond}, // nearest rank: the 1st of 2
		{3, 50, 2 * time.Millisecond},
		{100, 50, 50 * time.Millisecond},
		{100, 99, 99 * time.Millisecond},
		{100, 99.9, 100 * time.Millisecond},
		{100, 100, 100 * time.Millisecond},
		{1000, 99.9, 999 * time.Millisecond}, // 99.9/100*1000 is a hair above 999 in floating point
		{1000, 99, 990 * time.Millisecond},
		{10000, 99.9, 9990 * time.Millisecond},
		{10, 0.0001, time.Millisecond}, // never below the first value
	}
	for _, tt := range tests {
		if got := percentile(ms(tt.n), tt.p); got != tt.want {
			t.Errorf("percentile(1..%d ms, %v) = %v, want %v", tt.n, tt.p, got, tt.want)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		in := append([]float64(nil), tt.xs...)
		if got := median(tt.xs); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
		for i := range in {
			if in[i] != tt.xs[i] {
				t.Fatalf("median changed its input: %v", tt.xs)
			}
		}
	}
}

func TestResult(t *testing.T) {
	r := &Result{Elapsed: 2 * time.Second, Tokens: 3000, Errors: map[string]int{"HTTP 401": 2, "transport": 1}}
	if got := r.Throughput(); got != 1500 {
		t.Errorf("Throughput() = %v, want 1500", got)
	}
	if got := r.ErrorCount(); got != 3 {
		t.Errorf("ErrorCount() = %d, want 3", got)
	}
	if got := errorBreakdown(r); got != " (HTTP 401: 2, transport: 1)" {
		t.Errorf("errorBreakdown() = %q", got)
	}
}

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis must not shift the fields.
	stat := "4242 (token) service) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 100 1000000 2000 18446744073709551615\n"
	got, err := parseStatCPU(stat)
	if err != nil || got != 325 {
		t.Fatalf("parseStatCPU = %d, %v; want 325 (utime 250 + stime 75)", got, err)
	}
	if _, err := parseStatCPU("4242 (x) S 1 2"); err == nil {
		t.Error("parseStatCPU accepted a short line")
	}
}

func TestParseProcStatBusy(t *testing.T) {
	stat := "cpu  100 10 50 9000 40 1 2 3 0 0\ncpu0 50 5 25 4500 20 1 1 2 0 0\n"
	got, err := parseProcStatBusy(stat)
	if err != nil || got != 166 {
		t.Fatalf("parseProcStatBusy = %d, %v; want 166 (idle and iowait left out)", got, err)
	}
	if _, err := parseProcStatBusy("intr 1 2 3\n"); err == nil {
		t.Error("parseProcStatBusy accepted a file without a cpu line")
	}
}

func TestParseStatusMemory(t *testing.T) {
	status := "Name:\ttokenservice\nVmPeak:\t 1300000 kB\nVmHWM:\t   52000 kB\nVmRSS:\t   31000 kB\nThreads:\t9\n"
	rss, hwm, err := parseStatusMemory(status)
	if err != nil || rss != 31000 || hwm != 52000 {
		t.Fatalf("parseStatusMemory = %d, %d, %v; want 31000, 52000", rss, hwm, err)
	}
	if _, _, err := parseStatusMemory("Name:\tx\nVmRSS:\t 1 kB\n"); err == nil {
		t.Error("parseStatusMemory accepted a status without VmHWM")
	}
	if _, _, err := parseStatusMemory("VmRSS:\t 1 MB\nVmHWM:\t 1 kB\n"); err == nil {
		t.Error("parseStatusMemory accepted a size not in kB")
	}
}
