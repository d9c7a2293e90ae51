package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// profileClients is the load profiled: the level of the p99 target.
const profileClients = targetP99Clients

// profileTop is the top of the CPU and allocation profiles of a load run.
type profileTop struct {
	cpu, allocs string // `go tool pprof -top` output, or why there is none
	throughput  float64
	duration    time.Duration
	files       []string // where the raw profiles were kept
}

// takeProfiles drives the 32-client keep-alive grant against t (an
// unmeasured run: profiling costs CPU) while fetching a CPU profile and
// the allocations of the same seconds from the server's --debug-addr.
func takeProfiles(ctx context.Context, t *target, debugURL string, o compareOptions, logw io.Writer) profileTop {
	p := profileTop{duration: o.profile}
	secs := strconv.Itoa(max(int(o.profile/time.Second), 1))
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		p.cpu, p.allocs = err.Error(), err.Error()
		return p
	}
	d := newDriver(t.load, profileClients)
	defer d.close()
	d.drive(ctx, profileClients, o.warmup)
	var wg sync.WaitGroup
	var res *Result
	wg.Go(func() { res = d.drive(ctx, profileClients, o.profile+500*time.Millisecond) })
	fetched := make([]error, 2)
	names := []string{"cpu.pprof", "allocs.pprof"}
	paths := []string{"/debug/pprof/profile?seconds=" + secs, "/debug/pprof/allocs?seconds=" + secs}
	for i := range names {
		wg.Go(func() { fetched[i] = fetchProfile(ctx, debugURL+paths[i], filepath.Join(o.profileDir, names[i])) })
	}
	wg.Wait()
	p.throughput = res.Throughput()
	for i, out := range []*string{&p.cpu, &p.allocs} {
		file := filepath.Join(o.profileDir, names[i])
		if fetched[i] != nil {
			*out = "not taken: " + fetched[i].Error()
			continue
		}
		p.files = append(p.files, file)
		args := []string{"tool", "pprof", "-top", "-nodecount=15"}
		if i == 1 {
			args = append(args, "-sample_index=alloc_space")
		}
		top, err := exec.CommandContext(ctx, "go", append(args, file)...).CombinedOutput()
		if err != nil {
			*out = fmt.Sprintf("go tool pprof: %v: %s", err, top)
			continue
		}
		*out = trimPprofTop(string(top))
	}
	fmt.Fprintf(logw, "profiled %d clients for %s: %.0f req/s; profiles in %s\n", profileClients, o.profile, p.throughput, o.profileDir)
	return p
}

// fetchProfile saves the profile at url to path.
func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// trimPprofTop keeps the summary and table of `go tool pprof -top`,
// dropping the lines naming the file, the build and the time, which say
// nothing about the product.
func trimPprofTop(out string) string {
	var keep []string
	for line := range strings.Lines(out) {
		l := strings.TrimRight(line, "\n")
		if strings.HasPrefix(l, "File:") || strings.HasPrefix(l, "Build ID:") || strings.HasPrefix(l, "Type:") ||
			strings.HasPrefix(l, "Time:") || strings.HasPrefix(l, "Main binary filename") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}
