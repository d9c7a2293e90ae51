package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The footprint targets (issue 7).
const (
	targetIdleKB = 40 << 10               // resident memory idle after start
	targetLoadKB = 120 << 10              // resident memory under the 32-client token load
	targetReady  = 300 * time.Millisecond // from exec to /readyz 200
)

// footprint is what the product costs besides CPU.
type footprint struct {
	binaryBytes int64
	idleKB      int64 // VmRSS, ready and idle
	hwmKB       int64 // VmHWM after every load
	// readyEmpty and readyApps are start-up times: on an empty data
	// directory (the first start ever), and on a store of startupApps
	// applications that has been started once before.
	readyEmpty, readyApps []time.Duration
	startupApps           int
	seedTime              time.Duration // of the startupApps store
}

// footprint measures the binary and the start-ups. Every other server
// must be stopped: a start-up is short, and anything else running skews it.
func (b *bench) footprint(ctx context.Context, f *footprint) error {
	st, err := os.Stat(b.o.binary)
	if err != nil {
		return err
	}
	f.binaryBytes = st.Size()
	f.startupApps = b.o.startupApps
	for i := range b.o.startups {
		d, err := b.startup(ctx, filepath.Join(b.tmp, fmt.Sprintf("startup-empty-%d", i)))
		if err != nil {
			return err
		}
		f.readyEmpty = append(f.readyEmpty, d)
	}
	dir := filepath.Join(b.tmp, "startup-apps")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key, err := dataDirServerKey(dir)
	if err != nil {
		return err
	}
	start := time.Now()
	if _, err := Seed(ctx, SeedOptions{DatabaseURL: filepath.Join(dir, "tokenservice.db"), ServerKey: key, Apps: b.o.startupApps}); err != nil {
		return err
	}
	f.seedTime = time.Since(start)
	fmt.Fprintf(b.logw, "seeded %d applications in %s\n", b.o.startupApps, f.seedTime.Round(time.Millisecond))
	// The first start makes the signing key, as on the first start of any
	// store; an existing deployment restarts with one.
	if _, err := b.startup(ctx, dir); err != nil {
		return err
	}
	for range b.o.startups {
		d, err := b.startup(ctx, dir)
		if err != nil {
			return err
		}
		f.readyApps = append(f.readyApps, d)
	}
	fmt.Fprintf(b.logw, "ready: empty %v, %d applications %v\n", f.readyEmpty, b.o.startupApps, f.readyApps)
	return nil
}

// startup starts tokenservice on dataDir and returns the time from the
// start of the process to the first 200 of /readyz, polled every
// millisecond; then it stops the server.
func (b *bench) startup(ctx context.Context, dataDir string) (time.Duration, error) {
	addrs, err := freeAddrs(2)
	if err != nil {
		return 0, err
	}
	url := "http://" + addrs[0] + "/readyz"
	client := &http.Client{Timeout: time.Second}
	t0 := time.Now()
	c, err := startChild("tokenservice-startup", b.o.binary,
		[]string{"--data-dir", dataDir, "--addr", addrs[0], "--bcc-addr", addrs[1]}, b.env, dataDir+".log")
	if err != nil {
		return 0, err
	}
	defer c.stop()
	deadline := t0.Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(t0), nil
			}
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if c.exited() || time.Now().After(deadline) {
			return 0, c.failure("start-up")
		}
		time.Sleep(time.Millisecond)
	}
}

// medianDuration is the median of ds.
func medianDuration(ds []time.Duration) time.Duration {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(median(xs))
}

// spread is "min–max" of ds.
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	return fmt.Sprintf("%s–%s", fmtMillis(slices.Min(ds)), fmtMillis(slices.Max(ds)))
}

// fmtMB formats kB as MB with one decimal.
func fmtMB(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }
