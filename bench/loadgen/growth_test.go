package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testGrowthPoints() []*growthPoint {
	point := func(apps int, tps, p50 float64) *growthPoint {
		d := time.Duration(p50 * float64(time.Millisecond))
		return &growthPoint{apps: apps, throughput: []float64{tps, tps + 10, tps - 10}, tokenP99: []float64{9, 10, 11},
			list: &pageTimes{client: []time.Duration{d + time.Millisecond}, server: []time.Duration{d, 2 * d}}}
	}
	return []*growthPoint{point(10, 5000, 1), point(1000, 4900, 2), point(100_000, 4800, 2.2)}
}

func TestGrowthMarkdown(t *testing.T) {
	md := growthMarkdown(growthOptions{sizes: []int{10, 1000, 100_000}, concurrency: 32, rounds: 3, loadApps: 10,
		duration: 5 * time.Second, warmup: time.Second, requests: 100}, testGrowthPoints())
	for _, want := range []string{
		"## Growth\n",
		"![Token throughput and Applications list time by number of applications](bench/growth.png)",
		"| 100,000 | 4800 | 10.00 ms | 0 | 2.20 ms | 4.40 ms | 3.20 ms | 3.20 ms |",
		"| tokens/s at 100,000 applications ≥ 0.85× at 10 | 0.96× | met |",
		// The page at 10 applications has 10 rows: flatness is judged from 1,000.
		"| list server p50 at 100,000 applications ≤ 1.25× at 1,000 | 1.10× (2.20 ms vs 2.00 ms) | met |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("growth.md lacks %q:\n%s", want, md)
		}
	}
}

func TestGrowthChart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "growth.png")
	if err := growthChart(testGrowthPoints(), path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("growth.png is not a PNG (%d bytes)", len(b))
	}
}
