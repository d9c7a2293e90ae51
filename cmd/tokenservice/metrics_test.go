package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"tokenservice/secret"
)

// metricsSnapshot is one scrape of /metrics, by family name.
type metricsSnapshot map[string]*dto.MetricFamily

// scrape fetches and parses the service's metrics.
func scrape(t *testing.T, m *Main) metricsSnapshot {
	t.Helper()
	if m.MetricsURL == "" {
		t.Fatal("no metrics URL: start the service with --metrics-addr")
	}
	a := get(t, http.DefaultClient, m.MetricsURL, nil)
	if a.status != http.StatusOK {
		t.Fatalf("GET %s = %d\n%s", m.MetricsURL, a.status, a.body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(a.body))
	if err != nil {
		t.Fatalf("metrics are not in the Prometheus text format: %v\n%s", err, a.body)
	}
	return families
}

// labelsOf is a metric's labels as a map.
func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// find returns the metric of family name with exactly labels, or nil.
func (s metricsSnapshot) find(name string, labels map[string]string) *dto.Metric {
	f := s[name]
	if f == nil {
		return nil
	}
	for _, m := range f.GetMetric() {
		got := labelsOf(m)
		if len(got) != len(labels) {
			continue
		}
		match := true
		for k, v := range labels {
			if got[k] != v {
				match = false
			}
		}
		if match {
			return m
		}
	}
	return nil
}

// value is the value of a counter or gauge (the count of a histogram), -1
// if the metric is missing.
func (s metricsSnapshot) value(name string, labels map[string]string) float64 {
	m := s.find(name, labels)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

func withMetrics(m *Main) {
	m.Config.MetricsAddr = "127.0.0.1:0"
	m.Config.SweepInterval = 50 * time.Millisecond
}

// TestMetrics drives real traffic through the portal and the token
// endpoint, scrapes /metrics on its own address and checks that the
// counters moved under the right labels, and that no label anywhere holds
// a Client ID, an account, a user or a path with an ID in it.
func TestMetrics(t *testing.T) {
	t.Parallel()
	m := newMain(t, withMetrics)
	admin := signIn(t, m, "admin@acme.example")
	if p := admin.get("/metrics"); p.status != http.StatusNotFound || strings.Contains(p.body, "tokenservice_http_requests_total") {
		t.Errorf("the portal's own /metrics = %d: the metrics must be on --metrics-addr only", p.status)
	}
	id := admin.createApp("Metered", defaultScopes)
	app := appJSON{ClientID: id, ClientSecret: admin.reveal(id), AccountID: "acme"}
	for range 2 {
		if p := admin.get("/applications/" + id); p.status != http.StatusOK {
			t.Fatalf("details = %d", p.status)
		}
	}
	missing := strings.Repeat("a", 26)
	if p := admin.get("/applications/" + missing); p.status != http.StatusNotFound {
		t.Fatalf("unknown application = %d, want 404", p.status)
	}
	if p := admin.get("/no/such/page/" + id); p.status != http.StatusNotFound {
		t.Fatalf("unknown page = %d, want 404", p.status)
	}
	// Another account with 12 applications, for the account histogram.
	revealing := 1 // the portal's new application
	for i := range 12 {
		var created appJSON
		cliJSON(t, &created, "app", "create", "--data-dir", m.Config.DataDir, "--account", "globex",
			"--name", fmt.Sprintf("Globex %d", i), "--scope", "ess:account=read", "--json")
		if created.RevealUntil != nil && created.RevealUntil.After(time.Now()) {
			revealing++
		}
	}

	hc := clientFrom(t, "127.0.0.1")
	for range 3 {
		grant(t, hc, m, app, "")
	}
	checkGrant(t, postForm(t, hc, m, "/oauth2/token", "", postCredentials(app, grantForm("forensics:account:read"))))
	refusals := []struct {
		auth string
		form url.Values
		code string
	}{
		{basic(id, secret.New()), grantForm(""), "invalid_client"},
		{basic(id, app.ClientSecret), grantForm("reporting:reports:read"), "invalid_scope"},
		{basic(id, app.ClientSecret), url.Values{"grant_type": {"password"}}, "unsupported_grant_type"},
		{basic(id, app.ClientSecret), url.Values{}, "invalid_request"},
	}
	for _, r := range refusals {
		a := postForm(t, hc, m, "/oauth2/token", r.auth, r.form)
		checkOAuthError(t, a, a.status, r.code)
	}
	// One client from one address failing until it is refused.
	limited := clientFrom(t, "127.0.0.13")
	rateLimited := 0
	for range 12 {
		if a := postForm(t, limited, m, "/oauth2/token", basic(id, secret.New()), grantForm("")); a.status == http.StatusTooManyRequests {
			rateLimited++
		}
	}
	if rateLimited == 0 {
		t.Fatal("12 failures of one client from one address were never rate-limited")
	}

	// The sweeper refreshes the store's numbers: wait for the 13 applications.
	var s metricsSnapshot
	if !waitFor(10*time.Second, func() bool {
		s = scrape(t, m)
		h := s.find("tokenservice_account_applications", map[string]string{})
		return h != nil && h.Histogram.GetSampleSum() == 13
	}) {
		t.Fatalf("tokenservice_account_applications never counted 13 applications: %v", s["tokenservice_account_applications"])
	}

	t.Run("Requests", func(t *testing.T) {
		for _, tt := range []struct {
			method, route, status string
			min                   float64
		}{
			{"GET", "/applications/:client_id", "200", 2},
			{"GET", "/applications/:client_id", "404", 1},
			{"GET", "unmatched", "404", 2},
			{"POST", "/applications", "303", 1},
			{"POST", "/applications/:client_id/secret/reveal", "200", 1},
			{"POST", "/oauth2/token", "200", 4},
			{"POST", "/oauth2/token", "401", 1 + 12 - float64(rateLimited)},
			{"POST", "/oauth2/token", "429", float64(rateLimited)},
		} {
			labels := map[string]string{"method": tt.method, "route": tt.route, "status": tt.status}
			if got := s.value("tokenservice_http_requests_total", labels); got < tt.min {
				t.Errorf("tokenservice_http_requests_total%v = %v, want at least %v", labels, got, tt.min)
			}
			if got := s.value("tokenservice_http_request_duration_seconds", labels); got < tt.min {
				t.Errorf("tokenservice_http_request_duration_seconds%v count = %v, want at least %v", labels, got, tt.min)
			}
		}
	})

	t.Run("Tokens", func(t *testing.T) {
		for _, tt := range []struct {
			name, label, value string
			want               float64
		}{
			{"tokenservice_tokens_issued_total", "auth_method", "client_secret_basic", 3},
			{"tokenservice_tokens_issued_total", "auth_method", "client_secret_post", 1},
			{"tokenservice_tokens_refused_total", "reason", "invalid_client", 1 + 12 - float64(rateLimited)},
			{"tokenservice_tokens_refused_total", "reason", "invalid_scope", 1},
			{"tokenservice_tokens_refused_total", "reason", "unsupported_grant_type", 1},
			{"tokenservice_tokens_refused_total", "reason", "invalid_request", 1},
			{"tokenservice_tokens_refused_total", "reason", "rate_limited", float64(rateLimited)},
			{"tokenservice_tokens_refused_total", "reason", "server_error", 0},
		} {
			if got := s.value(tt.name, map[string]string{tt.label: tt.value}); got != tt.want {
				t.Errorf("%s{%s=%q} = %v, want %v", tt.name, tt.label, tt.value, got, tt.want)
			}
		}
	})

	t.Run("Store", func(t *testing.T) {
		if got, want := s.value("tokenservice_reveal_windows_open", nil), float64(revealing); got != want {
			t.Errorf("tokenservice_reveal_windows_open = %v, want %v", got, want)
		}
		h := s.find("tokenservice_account_applications", map[string]string{}).GetHistogram()
		if got, want := h.GetSampleCount(), uint64(2); got != want {
			t.Errorf("accounts = %d, want %d", got, want)
		}
		buckets := map[float64]uint64{}
		for _, b := range h.GetBucket() {
			buckets[b.GetUpperBound()] = b.GetCumulativeCount()
		}
		// acme has 1 application, globex 12.
		for le, want := range map[float64]uint64{1: 1, 10: 1, 100: 2, 1000: 2, 100000: 2} {
			if got := buckets[le]; got != want {
				t.Errorf("accounts with at most %v applications = %d, want %d", le, got, want)
			}
		}
		for _, name := range []string{"tokenservice_db_connections_max_open", "tokenservice_db_connections_open",
			"tokenservice_db_connections_in_use", "tokenservice_db_connections_idle",
			"tokenservice_db_waits_total", "tokenservice_db_wait_seconds_total"} {
			if got := s.value(name, nil); got < 0 {
				t.Errorf("%s is missing", name)
			}
		}
		if got := s.value("tokenservice_db_connections_open", nil); got < 1 {
			t.Errorf("tokenservice_db_connections_open = %v, want at least 1", got)
		}
		for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes"} {
			if s[name] == nil {
				t.Errorf("%s is missing: no Go or process collector", name)
			}
		}
	})

	t.Run("NoIdentifyingLabels", func(t *testing.T) {
		routes := map[string]bool{"unmatched": true}
		for _, r := range m.server.Routes() {
			routes[r.Path] = true
		}
		forbidden := []string{id, missing, "acme", "globex", "admin@acme.example", app.ClientSecret, "127.0.0.13"}
		anID := regexp.MustCompile(`[a-z2-7]{26}`)
		for name, f := range s {
			for _, metric := range f.GetMetric() {
				for k, v := range labelsOf(metric) {
					for _, bad := range forbidden {
						if strings.Contains(v, bad) {
							t.Errorf("%s{%s=%q}: a label holds %q", name, k, v, bad)
						}
					}
					if anID.MatchString(v) {
						t.Errorf("%s{%s=%q}: a label holds something like a Client ID", name, k, v)
					}
					if k == "route" && !routes[v] {
						t.Errorf("%s{route=%q}: not a route pattern", name, v)
					}
				}
			}
		}
	})
}

// TestMetricsOff: without --metrics-addr nothing listens for metrics, and
// the portal does not serve them.
func TestMetricsOff(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	if m.MetricsURL != "" {
		t.Errorf("MetricsURL = %q without --metrics-addr", m.MetricsURL)
	}
	if p := signIn(t, m, "admin@acme.example").get("/metrics"); p.status != http.StatusNotFound {
		t.Errorf("portal /metrics = %d, want 404", p.status)
	}
}

// TestMetricsWithProfiler: --metrics-addr and --debug-addr on one address
// share one listener.
func TestMetricsWithProfiler(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	m := newMain(t, func(m *Main) { m.Config.MetricsAddr, m.Config.DebugAddr = addr, addr })
	if got, want := m.MetricsURL, "http://"+addr+"/metrics"; got != want {
		t.Fatalf("MetricsURL = %q, want %q", got, want)
	}
	if s := scrape(t, m); s["go_goroutines"] == nil {
		t.Error("no go_goroutines in the metrics")
	}
	if a := get(t, http.DefaultClient, "http://"+addr+"/debug/pprof/goroutine?debug=1", nil); a.status != http.StatusOK {
		t.Errorf("profiler on the shared address = %d", a.status)
	}
	// The command line may hold --server-key or a database password: never served.
	if a := get(t, http.DefaultClient, "http://"+addr+"/debug/pprof/cmdline", nil); a.status == http.StatusOK {
		t.Errorf("the profiler serves the command line")
	}
}

// logLine is one JSON log line.
type logLine map[string]any

// jsonLogs is a JSON logger writing into buf, and a way to read its lines.
func jsonLogs(buf *syncBuffer) (*slog.Logger, func(t *testing.T) []logLine) {
	logger := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return logger, func(t *testing.T) []logLine {
		t.Helper()
		var out []logLine
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var l logLine
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("log line is not JSON: %v\n%s", err, line)
			}
			out = append(out, l)
		}
		return out
	}
}

// requestLines are the log lines that name request id.
func requestLines(lines []logLine, id string) []logLine {
	var out []logLine
	for _, l := range lines {
		if l["request_id"] == id {
			out = append(out, l)
		}
	}
	return out
}

// TestRequestID: every answer carries X-Request-Id, the same id is on the
// error page and on the request's log lines (its request line and, for a
// failure, its error line), and a client cannot choose it.
func TestRequestID(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger, lines := jsonLogs(&logs)
	// The sweeper runs once, at the start: every error line after that is
	// a request's.
	m := newMain(t, func(m *Main) { m.Logger, m.Config.SweepInterval = logger, time.Hour })
	admin := signIn(t, m, "admin@acme.example")
	hc := clientFrom(t, "127.0.0.1")
	pageID := regexp.MustCompile(`Request ID: <code>([^<]*)</code>`)

	// checkLogged checks that the request's log line has the id and status.
	checkLogged := func(t *testing.T, id string, status int) []logLine {
		t.Helper()
		var mine []logLine
		if !waitFor(5*time.Second, func() bool {
			mine = requestLines(lines(t), id)
			return slices.ContainsFunc(mine, func(l logLine) bool { return l["msg"] == "request" })
		}) {
			t.Fatalf("no request log line with request_id %q:\n%s", id, logs.String())
		}
		for _, l := range mine {
			if l["msg"] == "request" && l["status"] != float64(status) {
				t.Errorf("request log line of %s has status %v, want %d", id, l["status"], status)
			}
		}
		return mine
	}
	onPage := func(t *testing.T, p *page) {
		t.Helper()
		id := p.header.Get("X-Request-Id")
		sm := pageID.FindStringSubmatch(p.body)
		if sm == nil {
			t.Fatalf("the %d page shows no request id:\n%s", p.status, p.body)
		}
		if id == "" || sm[1] != id {
			t.Errorf("request id on the page %q, in X-Request-Id %q: want the same", sm[1], id)
		}
		checkLogged(t, id, p.status)
	}

	t.Run("NotFoundPage", func(t *testing.T) {
		onPage(t, admin.get("/applications/"+strings.Repeat("b", 26)))
	})
	t.Run("UnroutedPage", func(t *testing.T) {
		onPage(t, admin.get("/no/such/page"))
	})
	t.Run("OAuthError", func(t *testing.T) {
		a := postForm(t, hc, m, "/oauth2/token", basic(strings.Repeat("c", 26), secret.New()), grantForm(""))
		checkOAuthError(t, a, http.StatusUnauthorized, "invalid_client")
		checkLogged(t, a.header.Get("X-Request-Id"), http.StatusUnauthorized)
	})
	t.Run("OAuthMethodNotAllowed", func(t *testing.T) {
		a := get(t, hc, m.URL+"/oauth2/token", nil)
		checkOAuthError(t, a, http.StatusMethodNotAllowed, "invalid_request")
		checkLogged(t, a.header.Get("X-Request-Id"), http.StatusMethodNotAllowed)
	})
	t.Run("Success", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/.well-known/jwks.json", "/static/nope.css"} {
			a := get(t, hc, m.URL+path, nil)
			checkLogged(t, a.header.Get("X-Request-Id"), a.status)
		}
	})
	t.Run("Distinct", func(t *testing.T) {
		seen := map[string]bool{}
		for range 20 {
			id := get(t, hc, m.URL+"/healthz", nil).header.Get("X-Request-Id")
			if seen[id] || len(id) < 16 {
				t.Fatalf("request id %q: repeated or too short", id)
			}
			seen[id] = true
		}
	})
	t.Run("ClientCannotChoose", func(t *testing.T) {
		a := get(t, hc, m.URL+"/healthz", http.Header{"X-Request-Id": {"chosen-by-the-client"}})
		if got := a.header.Get("X-Request-Id"); got == "chosen-by-the-client" || got == "" {
			t.Errorf("X-Request-Id = %q: the id of a client that is not a trusted proxy must be replaced", got)
		}
	})
	// The last: it breaks the store.
	t.Run("ServerError", func(t *testing.T) {
		breakSessions(t, m)
		p := admin.get("/applications")
		if p.status != http.StatusInternalServerError {
			t.Fatalf("with the sessions table gone: %d, want 500", p.status)
		}
		onPage(t, p)
		id := p.header.Get("X-Request-Id")
		if !slices.ContainsFunc(requestLines(lines(t), id), func(l logLine) bool { return l["level"] == "ERROR" }) {
			t.Errorf("no error log line with request_id %q:\n%s", id, logs.String())
		}
		for _, l := range lines(t) {
			if l["level"] == "ERROR" && l["request_id"] == nil {
				t.Errorf("an error log line without request_id: %v", l)
			}
		}
	})
}

// TestRequestIDFromProxy: a trusted proxy's request id is kept when it is
// short and plain, replaced otherwise.
func TestRequestIDFromProxy(t *testing.T) {
	t.Parallel()
	m := newMain(t, func(m *Main) { m.Config.TrustedProxies = "127.0.0.7" })
	proxy := clientFrom(t, "127.0.0.7")
	other := clientFrom(t, "127.0.0.8")
	for _, tt := range []struct {
		name string
		hc   *http.Client
		sent string
		kept bool
	}{
		{"UUID", proxy, "0b6c8a3e-5f0e-4c49-9d1e-2a8f3c7b9e10", true},
		{"AWSTraceID", proxy, "Root=1-67891233-abcdef012345678912345678", true},
		{"TooLong", proxy, strings.Repeat("a", 129), false},
		{"Markup", proxy, "<script>alert(1)</script>", false},
		{"Spaces", proxy, "a b", false},
		{"NotTheProxy", other, "0b6c8a3e-5f0e-4c49-9d1e-2a8f3c7b9e10", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, tt.hc, m.URL+"/healthz", http.Header{"X-Request-Id": {tt.sent}})
			got := a.header.Get("X-Request-Id")
			if kept := got == tt.sent; kept != tt.kept || got == "" {
				t.Errorf("sent X-Request-Id %q, got back %q; want kept = %v", tt.sent, got, tt.kept)
			}
		})
	}
}

// TestReadiness: /readyz is 200 while the database answers and a signing
// key is loaded, and 503 once the database is gone; /healthz stays 200.
func TestReadiness(t *testing.T) {
	t.Parallel()
	m := newMain(t)
	hc := clientFrom(t, "127.0.0.1")
	if a := get(t, hc, m.URL+"/readyz", nil); a.status != http.StatusOK {
		t.Fatalf("readyz = %d %s", a.status, a.body)
	}
	if err := m.Store.Close(); err != nil {
		t.Fatal(err)
	}
	if a := get(t, hc, m.URL+"/readyz", nil); a.status != http.StatusServiceUnavailable || !strings.Contains(string(a.body), "database unavailable") {
		t.Errorf("readyz without a database = %d %s, want 503", a.status, a.body)
	}
	if a := get(t, hc, m.URL+"/healthz", nil); a.status != http.StatusOK {
		t.Errorf("healthz = %d, want 200: the process is up", a.status)
	}
}
