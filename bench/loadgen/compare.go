package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"tokenservice/db/pgtest/pgserver"
)

// The targets the report checks (issue 7).
const (
	targetRatio      = 0.7                   // tokenservice req/s ≥ 0.7 × baseline req/s, keep-alive
	targetP99Clients = 32                    // at this many concurrent clients …
	targetP99        = 10 * time.Millisecond // … tokenservice p99 is at most this
	// targetFlat is how "flat from 10 to 10,000 applications" is checked:
	// with 10,000 applications at least this share of the throughput with 10.
	targetFlat = 0.9
)

// loadTestApp is the name of the application compare creates.
const loadTestApp = "Load test"

// compareOptions are the flags of compare.
type compareOptions struct {
	binary      string
	rounds      int
	duration    time.Duration
	warmup      time.Duration
	concurrency []int // of the grant, keep-alive and new connection per request
	// side is the concurrency of introspection, the JWKS, PostgreSQL and
	// the many-applications comparison.
	side        []int
	apps        int // applications of the many-applications comparison
	postgres    bool
	startups    int // start-ups measured per case
	startupApps int // applications of the second start-up case
	profile     time.Duration
	dir         string // where the fragments go
	profileDir  string // where the raw profiles go
}

// target is one server of a comparison and the load it gets.
type target struct {
	name  string // as the tables show it
	load  Load
	child *child
}

// round is one measured round of one server.
type round struct {
	res *Result
	// CPU seconds during the measured part: of the server, of loadgen
	// itself, and of the whole machine.
	cpu, self, machine float64
	rssKB              int64 // the largest VmRSS of the server sampled during the measured part
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

// throughput is the median of the rounds' requests per second.
func (s series) throughput() float64 {
	return s.metric(func(r round) float64 { return r.res.Throughput() })
}

// latency is the median of the rounds' p-th percentiles.
func (s series) latency(p float64) time.Duration {
	return time.Duration(s.metric(func(r round) float64 { return float64(r.res.Percentile(p)) }))
}

// cpuPer1000 is the median of the rounds' server CPU seconds per 1,000
// requests.
func (s series) cpuPer1000() float64 {
	return s.metric(func(r round) float64 { return per1000(r.cpu, r.res.Tokens) })
}

// loadgenPer1000 is the median of the rounds' loadgen CPU seconds per
// 1,000 requests.
func (s series) loadgenPer1000() float64 {
	return s.metric(func(r round) float64 { return per1000(r.self, r.res.Tokens) })
}

// others is the median of the rounds' share of the machine used by other
// processes.
func (s series) others() float64 { return s.metric(round.others) }

// maxRSS is the largest VmRSS sampled in any round, in kB.
func (s series) maxRSS() int64 {
	var m int64
	for _, r := range s {
		m = max(m, r.rssKB)
	}
	return m
}

func per1000(seconds float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return seconds / float64(n) * 1000
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
	concurrency int
	ref, subj   series
}

// ratio is the subject's throughput over the reference's.
func (l level) ratio() float64 {
	if b := l.ref.throughput(); b > 0 {
		return l.subj.throughput() / b
	}
	return 0
}

// scenario is one comparison: a subject measured against a reference,
// interleaved, at some concurrency levels.
type scenario struct {
	key, title  string
	about       string // what is compared, for the report
	unit        string // what a request gets: "tokens", "introspections", "key sets"
	ref, subj   *target
	newConn     bool
	concurrency []int
	levels      []level
	skipped     string // why it was not measured, when it was not
}

// report is what compare measured.
type report struct {
	opts      compareOptions
	scenarios []*scenario
	foot      footprint
	profile   profileTop
}

func (r *report) scenario(key string) *scenario {
	for _, s := range r.scenarios {
		if s.key == key {
			return s
		}
	}
	return nil
}

// runCompare is "loadgen compare".
func runCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadgen compare", stderr)
	var (
		o                 compareOptions
		concurrency, side string
	)
	fs.StringVar(&o.binary, "tokenservice", "", "path of the tokenservice binary to measure (required)")
	fs.IntVar(&o.rounds, "rounds", 5, "rounds per server and concurrency level; the report shows their median")
	fs.DurationVar(&o.duration, "d", 2*time.Second, "measured duration of a round")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "unmeasured warm-up before each round")
	fs.StringVar(&concurrency, "concurrency", "1,32,128", "concurrency levels of the grant, comma-separated")
	fs.StringVar(&side, "side-concurrency", "32", "concurrency levels of introspection, the JWKS, PostgreSQL and many applications")
	fs.IntVar(&o.apps, "apps", 10_000, "registered applications of the many-applications comparison (against 10)")
	fs.BoolVar(&o.postgres, "postgres", true, "also measure with PostgreSQL as the store (a throwaway server, as db/pgtest/pgserver starts it)")
	fs.IntVar(&o.startups, "startups", 5, "start-ups measured per case; the report shows their median")
	fs.IntVar(&o.startupApps, "startup-apps", 100_000, "applications of the second start-up case")
	fs.DurationVar(&o.profile, "profile", 3*time.Second, "CPU and allocation profile of an extra 32-client load (0: none)")
	fs.StringVar(&o.dir, "dir", "docs/bench", "write the fragments token.md and footprint.md here (see the package documentation)")
	fs.StringVar(&o.profileDir, "profile-dir", "bin/profiles", "keep the raw profiles here")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.binary == "" {
		return errors.New("compare: --tokenservice is required")
	}
	if o.rounds < 1 || o.duration <= 0 || o.warmup < 0 || o.startups < 1 || o.apps < 10 {
		return errors.New("compare: --rounds and --startups must be at least 1, -d positive, --warmup not negative, --apps at least 10")
	}
	var err error
	if o.concurrency, err = parseLevels(concurrency); err != nil {
		return fmt.Errorf("compare: --concurrency: %w", err)
	}
	if o.side, err = parseLevels(side); err != nil {
		return fmt.Errorf("compare: --side-concurrency: %w", err)
	}
	if o.binary, err = filepath.Abs(o.binary); err != nil {
		return err
	}
	rep, err := compare(ctx, o, stderr)
	if err != nil {
		return err
	}
	token, foot := rep.tokenMarkdown(), rep.footprintMarkdown()
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, token)
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, foot)
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	for name, text := range map[string]string{"token.md": token, "footprint.md": foot} {
		if err := os.WriteFile(filepath.Join(o.dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "wrote %s and %s\n", filepath.Join(o.dir, "token.md"), filepath.Join(o.dir, "footprint.md"))
	return nil
}

// parseLevels parses "1,32,128".
func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: want positive numbers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// createdApp is what `tokenservice app create --json` prints, in part.
type createdApp struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	AccountID    string   `json:"account_id"`
	Scopes       []string `json:"scopes"`
}

// bench is the servers compare runs, and where.
type bench struct {
	o        compareOptions
	tmp      string
	env      []string
	self     string // loadgen's executable, which serves the baselines
	logw     io.Writer
	children []*child
}

// start starts a child that bench stops at the end.
func (b *bench) start(name, path string, args []string) (*child, error) {
	c, err := startChild(name, path, args, b.env, filepath.Join(b.tmp, strings.ReplaceAll(name, " ", "-")+".log"))
	if err != nil {
		return nil, err
	}
	b.children = append(b.children, c)
	return c, nil
}

func (b *bench) stopAll() {
	for i := len(b.children) - 1; i >= 0; i-- {
		b.children[i].stop()
	}
}

// product starts tokenservice with its defaults but for the ports, a data
// directory and extra, and waits until it is ready. It returns the base URL.
func (b *bench) product(ctx context.Context, name, dataDir string, extra ...string) (*child, string, error) {
	addrs, err := freeAddrs(2)
	if err != nil {
		return nil, "", err
	}
	args := append([]string{"--data-dir", dataDir, "--addr", addrs[0], "--bcc-addr", addrs[1]}, extra...)
	c, err := b.start(name, b.o.binary, args)
	if err != nil {
		return nil, "", err
	}
	base := "http://" + addrs[0]
	return c, base, waitReady(ctx, c, base+"/readyz", 60*time.Second)
}

// baseline starts a baseline server knowing app, with the server key, and
// waits until it is ready.
func (b *bench) baseline(ctx context.Context, name string, app *createdApp, serverKey string) (*child, string, error) {
	addrs, err := freeAddrs(1)
	if err != nil {
		return nil, "", err
	}
	c, err := b.start(name, b.self, []string{"baseline",
		"--addr", addrs[0], "--server-key", serverKey,
		"--client-id", app.ClientID, "--client-secret", app.ClientSecret,
		"--account", app.AccountID, "--scope", strings.Join(app.Scopes, " "),
	})
	if err != nil {
		return nil, "", err
	}
	base := "http://" + addrs[0]
	return c, base, waitReady(ctx, c, base+"/readyz", 30*time.Second)
}

// compare starts the servers, measures them and stops them again, also
// when it fails or ctx is cancelled. Progress goes to logw.
func compare(ctx context.Context, o compareOptions, logw io.Writer) (*report, error) {
	tmp, err := os.MkdirTemp("", "loadgen-compare-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, tmp: tmp, env: cleanEnv(), self: self, logw: logw}
	defer b.stopAll()
	rep := &report{opts: o}

	// The product as an operator runs it: default settings but for the
	// ports, a fresh data directory and the profiler's address.
	debugAddr, err := freeAddrs(1)
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(tmp, "data")
	product, productURL, err := b.product(ctx, "tokenservice", dataDir, "--debug-addr", debugAddr[0])
	if err != nil {
		return nil, err
	}
	app, err := createApp(ctx, o.binary, b.env, "--data-dir", dataDir)
	if err != nil {
		return nil, err
	}
	// Idle: ready, one application created, a second to settle.
	time.Sleep(time.Second)
	if rep.foot.idleKB, _, err = procMemory(product.pid()); err != nil {
		return nil, err
	}
	serverKeyHex, err := os.ReadFile(filepath.Join(dataDir, "server.key"))
	if err != nil {
		return nil, err
	}
	serverKey := strings.TrimSpace(string(serverKeyHex))
	baseline, baselineURL, err := b.baseline(ctx, "baseline", app, serverKey)
	if err != nil {
		return nil, err
	}
	grant := func(name, base string, c *child, a *createdApp) *target {
		return &target{name: name, child: c, load: Load{URL: base + "/oauth2/token", ClientID: a.ClientID, ClientSecret: a.ClientSecret}}
	}
	ref, subj := grant("baseline", baselineURL, baseline, app), grant("tokenservice", productURL, product, app)
	if err := sameTokens(ctx, []*target{ref, subj}); err != nil {
		return nil, err
	}
	rep.scenarios = append(rep.scenarios,
		&scenario{key: "keepalive", title: "Client-credentials grant, keep-alive", unit: "tokens",
			about: "Each client sends one token request after the other over its own keep-alive connection.",
			ref:   ref, subj: subj, concurrency: o.concurrency},
		&scenario{key: "newconn", title: "Client-credentials grant, a new connection per request", unit: "tokens",
			about: "As above, but every request opens a new TCP connection (`Connection: close`), as clients without a connection pool do.",
			ref:   ref, subj: subj, newConn: true, concurrency: o.concurrency})

	introspection, err := introspectionTargets(ctx, ref, subj)
	if err != nil {
		return nil, err
	}
	introspection.concurrency = o.side
	rep.scenarios = append(rep.scenarios, introspection)
	jwks, err := jwksTargets(ctx, ref, subj)
	if err != nil {
		return nil, err
	}
	jwks.concurrency = o.side
	rep.scenarios = append(rep.scenarios, jwks)

	pg := &scenario{key: "postgres", title: "PostgreSQL as the store", unit: "tokens", concurrency: o.side,
		about: "The grant with keep-alive, `tokenservice` on a PostgreSQL database (a throwaway local server as `db/pgtest/pgserver` starts it: " +
			"fsync off, on the same machine) against a baseline knowing the same application."}
	rep.scenarios = append(rep.scenarios, pg)
	if !o.postgres {
		pg.skipped = "--postgres=false"
	} else if err := b.postgres(ctx, pg, serverKey); err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		pg.skipped = err.Error()
		fmt.Fprintf(logw, "PostgreSQL not measured: %v\n", err)
	}

	apps, err := b.manyApps(ctx)
	if err != nil {
		return nil, err
	}
	rep.scenarios = append(rep.scenarios, apps)

	fmt.Fprintf(logw, "measuring %s: %d rounds × %s (+ %s warm-up) per server and level\n", o.binary, o.rounds, o.duration, o.warmup)
	for _, s := range rep.scenarios {
		if s.skipped != "" {
			continue
		}
		if err := runScenario(ctx, s, o, logw); err != nil {
			return nil, err
		}
	}
	_, rep.foot.hwmKB, _ = procMemory(product.pid())
	if o.profile > 0 {
		rep.profile = takeProfiles(ctx, subj, "http://"+debugAddr[0], o, logw)
	}

	// Start-ups on a quiet machine: every server stopped first.
	b.stopAll()
	if err := b.footprint(ctx, &rep.foot); err != nil {
		return nil, err
	}
	return rep, nil
}

// introspectionTargets gets a token from each server and makes the
// introspection comparison: each server introspects its own token, the
// caller being the token's own application.
func introspectionTargets(ctx context.Context, ref, subj *target) (*scenario, error) {
	s := &scenario{key: "introspect", title: "Introspection", unit: "introspections",
		about: "`POST /oauth2/introspect` of a valid token of the same account, the caller authenticating with its Client ID " +
			"and Secret. `tokenservice` checks the caller's secret (its client cache), verifies the token's signature, reads the " +
			"token's application (cache) and asks the database whether the token was revoked; the baseline checks the caller's " +
			"secret with the same keyed hash, verifies the token with the same `token.Verify`, and checks the application's " +
			"secret generation and a revocation list in memory, then writes the same JSON."}
	for i, t := range []*target{ref, subj} {
		raw, err := fetchToken(ctx, t.load)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		l := t.load
		l.URL, l.Endpoint, l.Token = strings.TrimSuffix(l.URL, "/oauth2/token")+"/oauth2/introspect", endpointIntrospect, raw
		nt := &target{name: t.name, child: t.child, load: l}
		body, err := getOnce(ctx, nt.load)
		if err != nil {
			return nil, fmt.Errorf("%s: introspection: %w", t.name, err)
		}
		var r struct {
			Active bool `json:"active"`
		}
		if json.Unmarshal(body, &r); !r.Active {
			return nil, fmt.Errorf("%s: introspection of its own token: not active: %s", t.name, body)
		}
		if i == 0 {
			s.ref = nt
		} else {
			s.subj = nt
		}
	}
	return s, nil
}

// jwksTargets makes the JWKS comparison.
func jwksTargets(ctx context.Context, ref, subj *target) (*scenario, error) {
	s := &scenario{key: "jwks", title: "JWKS", unit: "key sets",
		about: "`GET /.well-known/jwks.json` without `If-None-Match`: both serve a key set made when the key was loaded, " +
			"with the same headers; the baseline is a static handler, so this is the cost of the product's server around it."}
	for i, t := range []*target{ref, subj} {
		l := Load{URL: strings.TrimSuffix(t.load.URL, "/oauth2/token") + "/.well-known/jwks.json", Endpoint: endpointJWKS}
		body, err := getOnce(ctx, l)
		if err != nil {
			return nil, fmt.Errorf("%s: JWKS: %w", t.name, err)
		}
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) == 0 {
			return nil, fmt.Errorf("%s: JWKS without keys: %s", t.name, body)
		}
		nt := &target{name: t.name, child: t.child, load: l}
		if i == 0 {
			s.ref = nt
		} else {
			s.subj = nt
		}
	}
	return s, nil
}

// postgres starts a throwaway PostgreSQL server, tokenservice on it with
// an application made by the CLI, and a baseline knowing that application.
func (b *bench) postgres(ctx context.Context, s *scenario, serverKey string) error {
	srv, err := pgserver.Start()
	if err != nil {
		return err
	}
	b.children = append(b.children, &child{name: "postgres", done: make(chan struct{}), stopFunc: func() { srv.Stop() }})
	url, err := srv.CreateSchema(ctx)
	if err != nil {
		return err
	}
	dataDir := filepath.Join(b.tmp, "data-postgres")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	store := []string{"--database-url", url, "--server-key", serverKey}
	product, productURL, err := b.product(ctx, "tokenservice-postgres", dataDir, store...)
	if err != nil {
		return err
	}
	app, err := createApp(ctx, b.o.binary, b.env, append([]string{"--data-dir", dataDir}, store...)...)
	if err != nil {
		return err
	}
	baseline, baselineURL, err := b.baseline(ctx, "baseline-postgres", app, serverKey)
	if err != nil {
		return err
	}
	s.ref = &target{name: "baseline", child: baseline, load: Load{URL: baselineURL + "/oauth2/token", ClientID: app.ClientID, ClientSecret: app.ClientSecret}}
	s.subj = &target{name: "tokenservice (PostgreSQL)", child: product, load: Load{URL: productURL + "/oauth2/token", ClientID: app.ClientID, ClientSecret: app.ClientSecret}}
	return sameTokens(ctx, []*target{s.ref, s.subj})
}

// manyApps seeds two stores, one with 10 applications and one with
// o.apps, starts tokenservice on each and makes the comparison: the
// clients take the applications' credentials in turn.
func (b *bench) manyApps(ctx context.Context) (*scenario, error) {
	s := &scenario{key: "apps", title: fmt.Sprintf("10 and %s registered applications", thousands(b.o.apps)), unit: "tokens",
		concurrency: b.o.side,
		about: fmt.Sprintf("The grant with keep-alive, `tokenservice` on a store seeded (`loadgen seed`'s loader) with %s applications "+
			"against one seeded with 10, the clients taking every application's credentials in turn, so that with %s the "+
			"requests spread over every application: each one's first request reads it from the store, and the token "+
			"endpoint's client cache must hold all of them. The cache is emptied in effect by any commit that could change "+
			"a client (a reset, a sign-in to the portal, another process's writes), but not by the service's own batched "+
			"token counts. The reference here is `tokenservice` with 10.",
			thousands(b.o.apps), thousands(b.o.apps))}
	for i, n := range []int{10, b.o.apps} {
		dir := filepath.Join(b.tmp, fmt.Sprintf("data-%d-apps", n))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		key, err := dataDirServerKey(dir)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		apps, err := Seed(ctx, SeedOptions{DatabaseURL: filepath.Join(dir, "tokenservice.db"), ServerKey: key, Apps: n})
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(b.logw, "seeded %d applications in %s\n", n, time.Since(start).Round(time.Millisecond))
		name := fmt.Sprintf("tokenservice, %s apps", thousands(n))
		c, base, err := b.product(ctx, name, dir)
		if err != nil {
			return nil, err
		}
		t := &target{name: name, child: c, load: Load{URL: base + "/oauth2/token", Apps: apps}}
		if _, err := fetchToken(ctx, t.load); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if i == 0 {
			s.ref = t
		} else {
			s.subj = t
		}
	}
	return s, nil
}

// thousands formats n with commas: 10,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// runScenario measures s: at each level, rounds of the reference and the
// subject, interleaved.
func runScenario(ctx context.Context, s *scenario, o compareOptions, logw io.Writer) error {
	for _, c := range s.concurrency {
		l := level{concurrency: c}
		for r := range o.rounds {
			for _, t := range []*target{s.ref, s.subj} {
				load := t.load
				load.NewConn = s.newConn
				rd, err := measure(ctx, t, load, c, o.warmup, o.duration)
				if err != nil {
					return err
				}
				fmt.Fprintf(logw, "  %-10s %3d clients  round %d/%d  %-26s %7.0f req/s  p50 %s  p99 %s  errors %d  CPU: server %.2fs, loadgen %.2fs, others %.0f%%\n",
					s.key, c, r+1, o.rounds, t.name, rd.res.Throughput(), fmtMillis(rd.res.Percentile(50)),
					fmtMillis(rd.res.Percentile(99)), rd.res.ErrorCount(), rd.cpu, rd.self, 100*rd.others())
				if t == s.ref {
					l.ref = append(l.ref, rd)
				} else {
					l.subj = append(l.subj, rd)
				}
			}
		}
		s.levels = append(s.levels, l)
	}
	return nil
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

// createApp creates the application the load uses with the operator CLI
// and the store flags: read access to every scope of the default
// catalogue.
func createApp(ctx context.Context, bin string, env []string, store ...string) (*createdApp, error) {
	args := append([]string{"app", "create"}, store...)
	cmd := exec.CommandContext(ctx, bin, append(args, "--account", "acme", "--name", loadTestApp, "--json")...)
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
func sameTokens(ctx context.Context, servers []*target) error {
	var want string
	for _, s := range servers {
		shape, err := tokenShape(ctx, s.load)
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

// doOnce sends one request of l and returns the response and its body.
func doOnce(ctx context.Context, l Load) (*http.Response, []byte, error) {
	d := newDriver(l, 1)
	defer d.close()
	req, err := d.request(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	return resp, body, nil
}

// getOnce is the body of one successful request of l.
func getOnce(ctx context.Context, l Load) ([]byte, error) {
	_, body, err := doOnce(ctx, l)
	return body, err
}

// fetchToken is an access token got with l.
func fetchToken(ctx context.Context, l Load) (string, error) {
	body, err := getOnce(ctx, l)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	var tr baselineToken
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("token response: %s", body)
	}
	return tr.AccessToken, nil
}

// tokenShape requests one token with l and describes what must be alike
// between the servers: the response fields and headers, the JWT header,
// and the claim names.
func tokenShape(ctx context.Context, l Load) (string, error) {
	resp, body, err := doOnce(ctx, l)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
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

// measure runs one round of load against t: a warm-up that opens the
// connections, then the measured run, with the server's CPU time read
// around it and its resident memory sampled during it. Errors of the
// warm-up are counted with the round's.
func measure(ctx context.Context, t *target, load Load, concurrency int, warmup, duration time.Duration) (round, error) {
	d := newDriver(load, concurrency)
	defer d.close()
	var warm *Result
	if warmup > 0 {
		warm = d.drive(ctx, concurrency, warmup)
	}
	pid := t.child.pid()
	before, err := cpuSnapshot(pid)
	if err != nil {
		return round{}, t.child.failure("reading CPU times: " + err.Error())
	}
	stopSampling := make(chan struct{})
	rss := make(chan int64, 1)
	go func() { rss <- sampleRSS(pid, 100*time.Millisecond, stopSampling) }()
	res := d.drive(ctx, concurrency, duration)
	after, err := cpuSnapshot(pid)
	close(stopSampling)
	rd := round{res: res, rssKB: <-rss}
	if err := ctx.Err(); err != nil {
		return round{}, err
	}
	if err != nil || t.child.exited() {
		return round{}, t.child.failure("during the run")
	}
	if warm != nil {
		res.addErrors(warm)
	}
	rd.cpu = float64(after[0]-before[0]) / ticksPerSecond
	rd.self = float64(after[1]-before[1]) / ticksPerSecond
	rd.machine = float64(after[2]-before[2]) / ticksPerSecond
	return rd, nil
}

// sampleRSS returns the largest VmRSS of pid, in kB, read every interval
// until stop is closed.
func sampleRSS(pid int, every time.Duration, stop <-chan struct{}) int64 {
	var peak int64
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if rss, _, err := procMemory(pid); err == nil {
			peak = max(peak, rss)
		}
		select {
		case <-stop:
			return peak
		case <-tick.C:
		}
	}
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
