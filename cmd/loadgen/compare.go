package main

import (
	"bufio"
	"context"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The targets the report checks (SPEC.md, "Quality bars").
const (
	targetRatio      = 0.7                   // tokenservice req/s ≥ 0.7 × baseline req/s, keep-alive
	targetP99Clients = 32                    // at this many concurrent clients …
	targetP99        = 10 * time.Millisecond // … tokenservice p99 is below this
)

// benchTaskCommand is how docs/benchmarks.md is produced.
const benchTaskCommand = "go tool task bench"

// loadTestApp is the name of the application compare creates.
const loadTestApp = "Load test"

// compareOptions are the flags of compare.
type compareOptions struct {
	binary      string
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	concurrency []int
	out         string
}

// target names one server of the comparison.
type target struct {
	name  string // "baseline" or "tokenservice"
	url   string // the token endpoint
	child *child
}

// round is one measured round of one server.
type round struct {
	res *Result
	// CPU seconds during the measured part: of the server, of loadgen
	// itself, and of the whole machine.
	cpu, self, machine float64
}

// others is the share of the machine's CPUs (0 to 1) that processes other
// than the server and loadgen used during the round: a busy machine
// depresses the numbers.
func (r round) others() float64 {
	capacity := r.res.Elapsed.Seconds() * float64(runtime.NumCPU())
	if capacity <= 0 {
		return 0
	}
	return max(r.machine-r.cpu-r.self, 0) / capacity
}

// series is the rounds of one server at one concurrency level.
type series []round

func (s series) metric(f func(round) float64) float64 {
	xs := make([]float64, len(s))
	for i, r := range s {
		xs[i] = f(r)
	}
	return median(xs)
}

// throughput is the median of the rounds' tokens per second.
func (s series) throughput() float64 {
	return s.metric(func(r round) float64 { return r.res.Throughput() })
}

// latency is the median of the rounds' p-th percentiles.
func (s series) latency(p float64) time.Duration {
	return time.Duration(s.metric(func(r round) float64 { return float64(r.res.Percentile(p)) }))
}

// cpuPer1000 is the median of the rounds' server CPU seconds per 1,000
// tokens.
func (s series) cpuPer1000() float64 {
	return s.metric(func(r round) float64 { return per1000(r.cpu, r.res.Tokens) })
}

// loadgenPer1000 is the median of the rounds' loadgen CPU seconds per
// 1,000 tokens.
func (s series) loadgenPer1000() float64 {
	return s.metric(func(r round) float64 { return per1000(r.self, r.res.Tokens) })
}

// others is the median of the rounds' share of the machine used by other
// processes.
func (s series) others() float64 { return s.metric(round.others) }

func per1000(seconds float64, tokens int) float64 {
	if tokens == 0 {
		return 0
	}
	return seconds / float64(tokens) * 1000
}

// errors sums the failed requests of every round, warm-ups included.
func (s series) errors() *Result {
	sum := &Result{Errors: map[string]int{}}
	for _, r := range s {
		sum.addErrors(r.res)
	}
	return sum
}

// level is both servers' rounds at one concurrency level.
type level struct {
	concurrency      int
	baseline, tokens series
}

func (l level) ratio() float64 {
	if b := l.baseline.throughput(); b > 0 {
		return l.tokens.throughput() / b
	}
	return 0
}

// report is a comparison and the machine it ran on.
type report struct {
	commit, date, cpuModel, goVersion string
	cpus                              int
	opts                              compareOptions
	levels                            []level
}

// runCompare is "loadgen compare".
func runCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadgen compare", stderr)
	var (
		o           compareOptions
		concurrency string
	)
	fs.StringVar(&o.binary, "tokenservice", "", "path of the tokenservice binary to measure (required)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per server and concurrency level; the report shows their median")
	fs.DurationVar(&o.duration, "d", 5*time.Second, "measured duration of a round")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each round")
	fs.StringVar(&concurrency, "concurrency", "1,32,128", "concurrency levels, comma-separated")
	fs.StringVar(&o.out, "out", "", "write the report as markdown to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.binary == "" {
		return errors.New("compare: --tokenservice is required")
	}
	if o.rounds < 1 || o.duration <= 0 || o.warmup < 0 {
		return errors.New("compare: --rounds must be at least 1, -d positive and --warmup not negative")
	}
	for _, s := range strings.Split(concurrency, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("compare: --concurrency %q: want positive numbers separated by commas", concurrency)
		}
		o.concurrency = append(o.concurrency, n)
	}
	bin, err := filepath.Abs(o.binary)
	if err != nil {
		return err
	}
	o.binary = bin
	rep, err := compare(ctx, o, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, rep.results())
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, rep.targets())
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(o.out, []byte(rep.markdown()), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", o.out)
	}
	return nil
}

// createdApp is what `tokenservice app create --json` prints, in part.
type createdApp struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	AccountID    string   `json:"account_id"`
	Scopes       []string `json:"scopes"`
}

// compare starts both servers, measures them and stops them again, also
// when it fails or ctx is cancelled. Progress goes to logw.
func compare(ctx context.Context, o compareOptions, logw io.Writer) (*report, error) {
	tmp, err := os.MkdirTemp("", "loadgen-compare-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	addrs, err := freeAddrs(3)
	if err != nil {
		return nil, err
	}
	productAddr, bccAddr, baselineAddr := addrs[0], addrs[1], addrs[2]
	dataDir := filepath.Join(tmp, "data")
	env := cleanEnv()

	// The product as an operator runs it: default settings but for the
	// ports and a fresh data directory.
	product, err := startChild("tokenservice", o.binary,
		[]string{"--data-dir", dataDir, "--addr", productAddr, "--bcc-addr", bccAddr}, env, filepath.Join(tmp, "tokenservice.log"))
	if err != nil {
		return nil, err
	}
	defer product.stop()
	if err := waitReady(ctx, product, "http://"+productAddr+"/readyz", 60*time.Second); err != nil {
		return nil, err
	}
	app, err := createApp(ctx, o.binary, dataDir, env)
	if err != nil {
		return nil, err
	}
	serverKey, err := os.ReadFile(filepath.Join(dataDir, "server.key"))
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	baseline, err := startChild("baseline", self, []string{"baseline",
		"--addr", baselineAddr, "--server-key", strings.TrimSpace(string(serverKey)),
		"--client-id", app.ClientID, "--client-secret", app.ClientSecret,
		"--account", app.AccountID, "--scope", strings.Join(app.Scopes, " "),
	}, env, filepath.Join(tmp, "baseline.log"))
	if err != nil {
		return nil, err
	}
	defer baseline.stop()
	if err := waitReady(ctx, baseline, "http://"+baselineAddr+"/readyz", 30*time.Second); err != nil {
		return nil, err
	}

	servers := []*target{
		{name: "baseline", url: "http://" + baselineAddr + "/oauth2/token", child: baseline},
		{name: "tokenservice", url: "http://" + productAddr + "/oauth2/token", child: product},
	}
	if err := sameTokens(ctx, servers, app); err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "measuring %s against the baseline: %d rounds × %s (+ %s warm-up) per server and level, levels %v\n",
		o.binary, o.rounds, o.duration, o.warmup, o.concurrency)

	rep := newReport(o)
	for _, c := range o.concurrency {
		l := level{concurrency: c}
		for r := range o.rounds {
			for _, s := range servers {
				rd, err := measure(ctx, s, app, c, o.warmup, o.duration)
				if err != nil {
					return nil, err
				}
				fmt.Fprintf(logw, "  %3d clients  round %d/%d  %-12s %7.0f req/s  p50 %s  p99 %s  errors %d  CPU: server %.2fs, loadgen %.2fs, others %.0f%%\n",
					c, r+1, o.rounds, s.name, rd.res.Throughput(), fmtMillis(rd.res.Percentile(50)),
					fmtMillis(rd.res.Percentile(99)), rd.res.ErrorCount(), rd.cpu, rd.self, 100*rd.others())
				if s.name == "baseline" {
					l.baseline = append(l.baseline, rd)
				} else {
					l.tokens = append(l.tokens, rd)
				}
			}
		}
		rep.levels = append(rep.levels, l)
	}
	return rep, nil
}

// cleanEnv is the environment without TOKENSERVICE_* variables, so the
// product runs with its defaults whatever the caller's shell sets.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOKENSERVICE_") {
			env = append(env, kv)
		}
	}
	return env
}

// createApp creates the application the load uses with the operator CLI:
// read access to every scope of the default catalogue.
func createApp(ctx context.Context, bin, dataDir string, env []string) (*createdApp, error) {
	cmd := exec.CommandContext(ctx, bin, "app", "create", "--data-dir", dataDir,
		"--account", "acme", "--name", loadTestApp, "--json")
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("tokenservice app create: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var app createdApp
	if err := json.Unmarshal(out, &app); err != nil {
		return nil, fmt.Errorf("tokenservice app create: %w", err)
	}
	if app.ClientID == "" || app.ClientSecret == "" || len(app.Scopes) == 0 {
		return nil, fmt.Errorf("tokenservice app create printed no credentials or scopes: %s", out)
	}
	return &app, nil
}

// sameTokens asks each server for one token and checks that they answer
// alike: 200, the same token type, scope and lifetime, and JWTs with the
// same header fields and claim names. A comparison of unlike work would be
// worthless.
func sameTokens(ctx context.Context, servers []*target, app *createdApp) error {
	var want string
	for _, s := range servers {
		shape, err := tokenShape(ctx, s.url, app)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if want == "" {
			want = shape
		} else if shape != want {
			return fmt.Errorf("the servers issue different tokens:\n  %s: %s\n  %s: %s", servers[0].name, want, s.name, shape)
		}
	}
	return nil
}

// tokenShape requests one token from url and describes what must be alike
// between the servers: the response fields and headers, the JWT header,
// and the claim names.
func tokenShape(ctx context.Context, url string, app *createdApp) (string, error) {
	d := newDriver(Load{URL: url, ClientID: app.ClientID, ClientSecret: app.ClientSecret}, 1)
	defer d.close()
	req, err := d.request(ctx)
	if err != nil {
		return "", err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("token request: HTTP %d: %s", resp.StatusCode, body)
	}
	var tr baselineToken
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", fmt.Errorf("token response: %w", err)
	}
	parts := strings.Split(tr.AccessToken, ".")
	if len(parts) != 3 {
		return "", errors.New("token response: the access token is not a JWS")
	}
	var header struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return "", err
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		return "", err
	}
	names := slices.Sorted(maps.Keys(claims))
	return fmt.Sprintf("token_type=%s scope=%q expires_in=%d cache-control=%s pragma=%s alg=%s typ=%s claims=%s",
		tr.TokenType, tr.Scope, tr.ExpiresIn, resp.Header.Get("Cache-Control"), resp.Header.Get("Pragma"),
		header.Alg, header.Typ, strings.Join(names, ",")), nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	return nil
}

// measure runs one round against s: a warm-up that opens the connections,
// then the measured run, with the server's CPU time read around it.
// Errors of the warm-up are counted with the round's.
func measure(ctx context.Context, s *target, app *createdApp, concurrency int, warmup, duration time.Duration) (round, error) {
	d := newDriver(Load{URL: s.url, ClientID: app.ClientID, ClientSecret: app.ClientSecret}, concurrency)
	defer d.close()
	var warm *Result
	if warmup > 0 {
		warm = d.drive(ctx, concurrency, warmup)
	}
	before, err := cpuSnapshot(s.child.pid())
	if err != nil {
		return round{}, s.child.failure("reading CPU times: " + err.Error())
	}
	res := d.drive(ctx, concurrency, duration)
	after, err := cpuSnapshot(s.child.pid())
	if err := ctx.Err(); err != nil {
		return round{}, err
	}
	if err != nil || s.child.exited() {
		return round{}, s.child.failure("during the run")
	}
	if warm != nil {
		res.addErrors(warm)
	}
	return round{
		res:     res,
		cpu:     float64(after[0]-before[0]) / ticksPerSecond,
		self:    float64(after[1]-before[1]) / ticksPerSecond,
		machine: float64(after[2]-before[2]) / ticksPerSecond,
	}, nil
}

// cpuSnapshot reads the CPU ticks of the server pid, of loadgen and of the
// whole machine.
func cpuSnapshot(pid int) ([3]int64, error) {
	var t [3]int64
	var err [3]error
	t[0], err[0] = cpuTicks(pid)
	t[1], err[1] = cpuTicks(os.Getpid())
	t[2], err[2] = machineBusyTicks()
	return t, errors.Join(err[:]...)
}

// newReport describes the machine and the build being measured.
func newReport(o compareOptions) *report {
	r := &report{
		commit: "unknown", date: time.Now().UTC().Format("2006-01-02 15:04 MST"),
		cpuModel: cpuModel(), cpus: runtime.NumCPU(), goVersion: runtime.Version(), opts: o,
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		r.commit = "`" + strings.TrimSpace(string(out)) + "`"
		// The binary is built from the working tree: say so when it is not
		// the commit (the report being written does not count).
		if st, err := exec.Command("git", "status", "--porcelain", "--", ".", ":(exclude)docs/benchmarks.md").Output(); err == nil && len(st) > 0 {
			r.commit += " with uncommitted changes"
		}
	}
	if bi, err := buildinfo.ReadFile(o.binary); err == nil {
		r.goVersion = bi.GoVersion
	} else if bi, ok := debug.ReadBuildInfo(); ok {
		r.goVersion = bi.GoVersion
	}
	return r
}

// cpuModel is the "model name" of /proc/cpuinfo, or "unknown".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// results is the markdown table of the measurements, and the kinds of
// errors if there were any.
func (r *report) results() string {
	var b strings.Builder
	b.WriteString("| clients | baseline req/s | tokenservice req/s | ratio | baseline p50 | baseline p99 | tokenservice p50 | tokenservice p99 | baseline errors | tokenservice errors | baseline CPU s/1k tokens | tokenservice CPU s/1k tokens |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range r.levels {
		fmt.Fprintf(&b, "| %d | %.0f | %.0f | %.2f× | %s | %s | %s | %s | %d | %d | %.3f | %.3f |\n",
			l.concurrency, l.baseline.throughput(), l.tokens.throughput(), l.ratio(),
			fmtMillis(l.baseline.latency(50)), fmtMillis(l.baseline.latency(99)),
			fmtMillis(l.tokens.latency(50)), fmtMillis(l.tokens.latency(99)),
			l.baseline.errors().ErrorCount(), l.tokens.errors().ErrorCount(),
			l.baseline.cpuPer1000(), l.tokens.cpuPer1000())
	}
	b.WriteString("\nThe load generator and the rest of the machine during the same rounds (medians):\n\n")
	b.WriteString("| clients | loadgen CPU s/1k tokens, baseline rounds | loadgen CPU s/1k tokens, tokenservice rounds | other processes' share of the CPUs, baseline rounds | other processes' share of the CPUs, tokenservice rounds |\n")
	b.WriteString("|---:|---:|---:|---:|---:|\n")
	for _, l := range r.levels {
		fmt.Fprintf(&b, "| %d | %.3f | %.3f | %.0f%% | %.0f%% |\n", l.concurrency,
			l.baseline.loadgenPer1000(), l.tokens.loadgenPer1000(), 100*l.baseline.others(), 100*l.tokens.others())
	}
	for _, l := range r.levels {
		for _, s := range []struct {
			name string
			ser  series
		}{{"baseline", l.baseline}, {"tokenservice", l.tokens}} {
			if e := s.ser.errors(); e.ErrorCount() > 0 {
				fmt.Fprintf(&b, "\nErrors of %s at %s:%s", s.name, clients(l.concurrency), errorBreakdown(e))
				if e.FirstError != "" {
					fmt.Fprintf(&b, "; first transport error: %s", e.FirstError)
				}
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

// targets is the markdown table of the targets, each met or missed by the
// measurements.
func (r *report) targets() string {
	mark := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	var b strings.Builder
	b.WriteString("| target | measured | |\n|---|---|---|\n")

	worst := -1
	for i, l := range r.levels {
		if worst < 0 || l.ratio() < r.levels[worst].ratio() {
			worst = i
		}
	}
	if worst >= 0 {
		w := r.levels[worst]
		fmt.Fprintf(&b, "| tokenservice ≥ %.1f× baseline throughput, keep-alive, at every level | lowest ratio %.2f× (%s) | %s |\n",
			targetRatio, w.ratio(), clients(w.concurrency), mark(w.ratio() >= targetRatio))
	}

	p99 := fmt.Sprintf("| tokenservice p99 < %s at %s ", fmtMillis(targetP99), clients(targetP99Clients))
	if i := slices.IndexFunc(r.levels, func(l level) bool { return l.concurrency == targetP99Clients }); i >= 0 {
		got := r.levels[i].tokens.latency(99)
		fmt.Fprintf(&b, "%s| %s (baseline: %s) | %s |\n", p99, fmtMillis(got), fmtMillis(r.levels[i].baseline.latency(99)), mark(got < targetP99))
	} else {
		fmt.Fprintf(&b, "%s| not measured (no level of %s) | not measured |\n", p99, clients(targetP99Clients))
	}

	errs := 0
	for _, l := range r.levels {
		errs += l.tokens.errors().ErrorCount()
	}
	fmt.Fprintf(&b, "| zero tokenservice errors (any non-200 or transport error, warm-ups included) | %d | %s |\n", errs, mark(errs == 0))
	return b.String()
}

// clients is "1 client" or "n clients".
func clients(n int) string {
	if n == 1 {
		return "1 client"
	}
	return strconv.Itoa(n) + " clients"
}

// markdown is the whole report, as docs/benchmarks.md.
func (r *report) markdown() string {
	o := r.opts
	var b strings.Builder
	b.WriteString("# Token endpoint benchmarks\n\n")
	b.WriteString("The client-credentials grant (`POST /oauth2/token`) of `tokenservice`, measured side by side\n")
	b.WriteString("with a best-case Go implementation of the same grant.\n\n")
	fmt.Fprintf(&b, "Produced by `%s` (`go run ./cmd/loadgen compare --tokenservice bin/tokenservice --out docs/benchmarks.md`).\n", benchTaskCommand)
	b.WriteString("Every number below comes from that run; to update them, run it again rather than editing this file.\n\n")
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| commit | %s |\n", r.commit)
	fmt.Fprintf(&b, "| date | %s |\n", r.date)
	fmt.Fprintf(&b, "| CPU | %s |\n", r.cpuModel)
	fmt.Fprintf(&b, "| CPUs | %d |\n", r.cpus)
	fmt.Fprintf(&b, "| Go | %s |\n\n", r.goVersion)

	b.WriteString("## How it is measured\n\n")
	b.WriteString("- **tokenservice**: `bin/tokenservice` as `go tool task build` makes it, started with its default\n")
	b.WriteString("  configuration except a fresh temporary data directory and free loopback ports: SQLite, an ES256\n")
	b.WriteString("  signing key, the request log at level `info` (written to a file), the bundled identity provider.\n")
	b.WriteString("  One application is created with `tokenservice app create` (read access to every scope of the\n")
	b.WriteString("  default catalogue); every request authenticates with its Client ID and Secret (`client_secret_basic`).\n")
	b.WriteString("- **baseline**: `loadgen baseline`, a minimal `net/http` server that does the grant and nothing else: the\n")
	b.WriteString("  same HTTP Basic parsing, `secret.WellFormed` and the constant-time keyed-hash check of `secret.Keys`\n")
	b.WriteString("  (same server key), the same claims signed by the same `token.Signer` with a key of the same\n")
	b.WriteString("  algorithm, the same JSON response and headers; the application in an in-memory map. No framework,\n")
	b.WriteString("  middleware, database, request log or rate limiter. Before measuring, one token from each server is\n")
	b.WriteString("  checked to have the same header fields, claim names, scope and lifetime.\n")
	fmt.Fprintf(&b, "- **load**: `loadgen` on the same machine (it competes with the server for the same CPUs). N clients\n")
	b.WriteString("  each send one request after the other over keep-alive connections. ")
	fmt.Fprintf(&b, "Per round: %s of warm-up, then\n", o.warmup)
	fmt.Fprintf(&b, "  %s measured. %d rounds per server and level, interleaved (baseline, tokenservice, baseline, …);\n", o.duration, o.rounds)
	b.WriteString("  the table shows the median of the rounds.\n")
	b.WriteString("- **req/s** counts 200 responses; latencies are those of 200 responses; **errors** are every other\n")
	b.WriteString("  outcome (a non-200 status or a transport error), summed over all rounds, warm-ups included. **CPU\n")
	b.WriteString("  s/1k tokens** is the server process's user + system time (`/proc/PID/stat`) during the measured\n")
	b.WriteString("  part of a round, per 1,000 tokens issued; at 1 client it includes the cost of waking up for every\n")
	b.WriteString("  request (the server idles between them), so compare it at 32 and 128. The second table shows what\n")
	b.WriteString("  loadgen itself and the other processes of the machine (from `/proc/stat`) used meanwhile; a busy\n")
	b.WriteString("  machine depresses every number of its rounds.\n\n")

	b.WriteString("## Results\n\n")
	b.WriteString(r.results())
	b.WriteString("\n## Targets\n\n")
	b.WriteString(r.targets())
	return b.String()
}
