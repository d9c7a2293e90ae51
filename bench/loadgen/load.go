package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Load is what a load run drives: one application's client-credentials
// grant against one token endpoint, or introspection or JWKS fetches.
type Load struct {
	URL          string // the endpoint, e.g. http://127.0.0.1:8080/oauth2/token
	ClientID     string
	ClientSecret string
	Scope        string // sent as the scope parameter when not empty
	// NewConn disables keep-alive: every request opens a new TCP connection.
	NewConn bool

	// Endpoint is what URL serves: the token endpoint (""), introspection
	// ("introspect": POST token=Token, authenticated as the client) or the
	// JWKS ("jwks": a plain GET).
	Endpoint string
	Token    string
	// Apps, when set, are the applications whose credentials the requests
	// take in turn (instead of ClientID and ClientSecret), so that they
	// spread over many applications as a busy service's do.
	Apps []createdApp
}

// The endpoints a Load can drive besides the token endpoint.
const (
	endpointIntrospect = "introspect"
	endpointJWKS       = "jwks"
)

// tokenURL returns the token endpoint of u: u itself, or u's
// /oauth2/token when u names no path.
func tokenURL(u string) (string, error) {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return "", fmt.Errorf("--url %q: want http(s)://host[:port][/path]", u)
	}
	if p.Path == "" || p.Path == "/" {
		p.Path = "/oauth2/token"
	}
	return p.String(), nil
}

// basicAuth is the Authorization header of client_secret_basic: RFC 6749
// §2.3.1 form-urlencodes the ID and the secret before joining them.
func basicAuth(clientID, clientSecret string) string {
	raw := url.QueryEscape(clientID) + ":" + url.QueryEscape(clientSecret)
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(raw))
}

// Result is what one load run measured.
type Result struct {
	Concurrency int
	Elapsed     time.Duration
	// Tokens counts the 200 responses; Latencies holds their latencies,
	// sorted. Failed requests are counted in Errors, not timed.
	Tokens    int
	Latencies []time.Duration
	// Errors counts every other outcome by kind: "HTTP 401", "transport".
	Errors map[string]int
	// FirstError describes the first transport error, if any.
	FirstError string
}

// Throughput is the number of tokens issued per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Tokens) / r.Elapsed.Seconds()
}

// ErrorCount is the number of failed requests.
func (r *Result) ErrorCount() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Percentile is the p-th percentile (0 < p ≤ 100) of the token latencies.
func (r *Result) Percentile(p float64) time.Duration { return percentile(r.Latencies, p) }

// addErrors adds the errors of o to r.
func (r *Result) addErrors(o *Result) {
	for k, n := range o.Errors {
		r.Errors[k] += n
	}
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
}

// driver sends the requests of a Load through one HTTP client, whose
// connections outlive a drive so that a warm-up's connections serve the
// measured run.
type driver struct {
	load   Load
	auths  []string // the Authorization headers, taken in turn
	next   atomic.Uint64
	body   string
	client *http.Client
}

func newDriver(l Load, concurrency int) *driver {
	form := url.Values{"grant_type": {"client_credentials"}}
	if l.Scope != "" {
		form.Set("scope", l.Scope)
	}
	if l.Endpoint == endpointIntrospect {
		form = url.Values{"token": {l.Token}}
	}
	auths := []string{basicAuth(l.ClientID, l.ClientSecret)}
	if len(l.Apps) > 0 {
		auths = make([]string, len(l.Apps))
		for i, a := range l.Apps {
			auths[i] = basicAuth(a.ClientID, a.ClientSecret)
		}
	}
	tr := &http.Transport{
		Proxy:               nil, // loopback benchmarks never go through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        concurrency,
		MaxIdleConnsPerHost: concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableKeepAlives:   l.NewConn,
		DisableCompression:  true,
	}
	return &driver{
		load:   l,
		auths:  auths,
		body:   form.Encode(),
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
	}
}

// close closes the driver's idle connections.
func (d *driver) close() { d.client.CloseIdleConnections() }

// drive runs concurrency workers, each sending one request after the other,
// for duration (requests in flight at the end are finished and counted).
// It stops early, with what it has, when ctx is done.
func (d *driver) drive(ctx context.Context, concurrency int, duration time.Duration) *Result {
	type workerResult struct {
		latencies  []time.Duration
		errors     map[string]int
		firstError string
	}
	results := make([]workerResult, concurrency)
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for i := range concurrency {
		wg.Go(func() {
			wr := &results[i]
			wr.errors = map[string]int{}
			// Recording is an append to a slice of this worker's own: no
			// lock, no allocation once the slice has grown.
			wr.latencies = make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				status, err := d.do(ctx)
				lat := time.Since(t0)
				switch {
				case err != nil:
					if ctx.Err() != nil {
						return
					}
					wr.errors["transport"]++
					if wr.firstError == "" {
						wr.firstError = err.Error()
					}
					// A refused or failing connection fails fast: do not
					// spin on it.
					time.Sleep(time.Millisecond)
				case status == http.StatusOK:
					wr.latencies = append(wr.latencies, lat)
				default:
					wr.errors[fmt.Sprintf("HTTP %d", status)]++
				}
			}
		})
	}
	wg.Wait()
	res := &Result{Concurrency: concurrency, Elapsed: time.Since(start), Errors: map[string]int{}}
	n := 0
	for _, wr := range results {
		n += len(wr.latencies)
	}
	res.Latencies = make([]time.Duration, 0, n)
	for _, wr := range results {
		res.Latencies = append(res.Latencies, wr.latencies...)
		for k, c := range wr.errors {
			res.Errors[k] += c
		}
		if res.FirstError == "" {
			res.FirstError = wr.firstError
		}
	}
	slices.Sort(res.Latencies)
	res.Tokens = len(res.Latencies)
	return res
}

// request returns a new request of the load: a token or introspection
// request with the next application's credentials, or a JWKS fetch.
func (d *driver) request(ctx context.Context) (*http.Request, error) {
	if d.load.Endpoint == endpointJWKS {
		return http.NewRequestWithContext(ctx, http.MethodGet, d.load.URL, nil)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.load.URL, strings.NewReader(d.body))
	if err != nil {
		return nil, err
	}
	auth := d.auths[0]
	if len(d.auths) > 1 {
		auth = d.auths[(d.next.Add(1)-1)%uint64(len(d.auths))]
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// do sends one token request and reads the whole response.
func (d *driver) do(ctx context.Context) (int, error) {
	req, err := d.request(ctx)
	if err != nil {
		return 0, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	// Reading the body to the end lets the connection be reused.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// runLoad is "loadgen run": one load run against a token endpoint.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadgen run", stderr)
	var (
		l           Load
		rawURL      string
		concurrency int
		duration    time.Duration
		warmup      time.Duration
		credentials string
	)
	fs.StringVar(&rawURL, "url", "", "token endpoint, or the service's base URL (then /oauth2/token)")
	fs.StringVar(&credentials, "credentials", "", "take the credentials in turn from this file (one JSON object a line, as `loadgen seed --credentials` writes it) instead of --client-id and --client-secret")
	fs.StringVar(&l.ClientID, "client-id", "", "Client ID")
	fs.StringVar(&l.ClientSecret, "client-secret", "", "Client Secret")
	fs.StringVar(&l.Scope, "scope", "", "space-separated scopes to request (default: none, i.e. every scope of the application)")
	fs.IntVar(&concurrency, "c", 32, "concurrent clients, each sending one request after the other")
	fs.DurationVar(&duration, "d", 10*time.Second, "how long to measure")
	fs.DurationVar(&warmup, "warmup", time.Second, "unmeasured run before the measurement (0 for none)")
	fs.BoolVar(&l.NewConn, "new-conn", false, "disable keep-alive: a new TCP connection per request")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if l.URL, err = tokenURL(rawURL); err != nil {
		return err
	}
	if credentials != "" {
		if l.Apps, err = readCredentials(credentials); err != nil {
			return err
		}
	} else if l.ClientID == "" || l.ClientSecret == "" {
		return errors.New("run: --client-id and --client-secret (or --credentials) are required")
	}
	if concurrency < 1 || duration <= 0 || warmup < 0 {
		return errors.New("run: -c must be at least 1, -d positive and --warmup not negative")
	}
	d := newDriver(l, concurrency)
	defer d.close()
	var warm *Result
	if warmup > 0 {
		warm = d.drive(ctx, concurrency, warmup)
	}
	res := d.drive(ctx, concurrency, duration)
	if err := ctx.Err(); err != nil {
		return err
	}
	mode := "keep-alive"
	if l.NewConn {
		mode = "new connection per request"
	}
	fmt.Fprintf(stdout, "%s: %d clients, %s, %s\n", l.URL, concurrency, mode, res.Elapsed.Round(time.Millisecond))
	printResult(stdout, res)
	if warm != nil && warm.ErrorCount() > 0 {
		fmt.Fprintf(stdout, "warm-up errors: %d%s\n", warm.ErrorCount(), errorBreakdown(warm))
	}
	return nil
}

// printResult writes a Result for a person.
func printResult(w io.Writer, r *Result) {
	fmt.Fprintf(w, "requests/s: %.0f (%d tokens)\n", r.Throughput(), r.Tokens)
	fmt.Fprintf(w, "latency:    p50 %s  p99 %s  p99.9 %s  max %s\n",
		fmtMillis(r.Percentile(50)), fmtMillis(r.Percentile(99)), fmtMillis(r.Percentile(99.9)), fmtMillis(r.Percentile(100)))
	fmt.Fprintf(w, "errors:     %d%s\n", r.ErrorCount(), errorBreakdown(r))
	if r.FirstError != "" {
		fmt.Fprintf(w, "first transport error: %s\n", r.FirstError)
	}
}

// errorBreakdown lists the errors by kind, " (HTTP 401: 3, transport: 1)",
// or nothing when there are none.
func errorBreakdown(r *Result) string {
	if len(r.Errors) == 0 {
		return ""
	}
	kinds := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s: %d", k, r.Errors[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// fmtMillis formats d in milliseconds with two decimals.
func fmtMillis(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// readCredentials reads the file `loadgen seed --credentials` writes.
func readCredentials(path string) ([]createdApp, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("run: --credentials: %w", err)
	}
	var apps []createdApp
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var a createdApp
		if err := dec.Decode(&a); err != nil {
			return nil, fmt.Errorf("run: --credentials %s: %w", path, err)
		}
		apps = append(apps, a)
	}
	if len(apps) == 0 {
		return nil, fmt.Errorf("run: --credentials %s: no applications", path)
	}
	return apps, nil
}
