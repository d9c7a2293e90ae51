package handlers

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tokenservice/db"
)

// StatsStore is what the metrics read from the database: aggregate numbers
// the sweeper refreshes (RefreshStats), never a query per scrape, and the
// connection pool's counters, which cost nothing to read.
type StatsStore interface {
	AccountSizes(ctx context.Context) ([]db.AccountSize, error)
	OpenRevealWindows(ctx context.Context, now time.Time) (int64, error)
	PoolStats() sql.DBStats
}

// Metrics are the service's Prometheus metrics, on a registry of the server's
// own so a test process can run many servers. No label holds a client ID, an
// account, a user or a raw path: each would leak, and multiply the series.
type Metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	tokensIssued  *prometheus.CounterVec
	tokensRefused *prometheus.CounterVec
	revealWindows prometheus.Gauge
	accountSizes  *accountSizes

	// routes are the registered route patterns: a path the router did not
	// match is counted as "unmatched", never under its own name.
	routes map[string]bool
}

// accountBuckets are the upper bounds of tokenservice_account_applications.
var accountBuckets = []float64{1, 10, 100, 1000, 10000, 100000}

// refusalReasons are the token endpoint's refusals, each counted from zero
// so that a rate over a reason that has not happened yet is 0, not absent.
var refusalReasons = []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "invalid_scope",
	"unsupported_grant_type", "rate_limited", "server_error"}

func newMetrics(stats StatsStore) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenservice_http_requests_total",
			Help: "HTTP requests answered, by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tokenservice_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route pattern and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		tokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenservice_tokens_issued_total",
			Help: "Access tokens issued by the token endpoint, by client authentication method.",
		}, []string{"auth_method"}),
		tokensRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tokenservice_tokens_refused_total",
			Help: "Token requests refused, by reason: the OAuth error code, rate_limited or server_error.",
		}, []string{"reason"}),
		revealWindows: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tokenservice_reveal_windows_open",
			Help: "Applications whose new Client Secret can still be viewed (refreshed by the sweeper).",
		}),
		accountSizes: &accountSizes{desc: prometheus.NewDesc("tokenservice_account_applications",
			"Accounts by their number of applications: bucket le counts the accounts with at most le applications (refreshed by the sweeper; accounts without applications are not counted).",
			nil, nil)},
		routes: map[string]bool{},
	}
	for _, method := range []string{authBasic, authPost} {
		m.tokensIssued.WithLabelValues(method)
	}
	for _, reason := range refusalReasons {
		m.tokensRefused.WithLabelValues(reason)
	}
	reg.MustRegister(m.requests, m.duration, m.tokensIssued, m.tokensRefused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if stats != nil {
		reg.MustRegister(m.revealWindows, m.accountSizes)
		registerPoolStats(reg, stats.PoolStats)
	}
	return m
}

// registerPoolStats exports the database connection pool's numbers.
func registerPoolStats(reg *prometheus.Registry, stats func() sql.DBStats) {
	gauge := func(name, help string, value func(sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return value(stats()) })
	}
	counter := func(name, help string, value func(sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return value(stats()) })
	}
	reg.MustRegister(
		gauge("tokenservice_db_connections_max_open", "Most database connections the pool may open.",
			func(s sql.DBStats) float64 { return float64(s.MaxOpenConnections) }),
		gauge("tokenservice_db_connections_open", "Database connections open, in use or idle.",
			func(s sql.DBStats) float64 { return float64(s.OpenConnections) }),
		gauge("tokenservice_db_connections_in_use", "Database connections running a query or transaction.",
			func(s sql.DBStats) float64 { return float64(s.InUse) }),
		gauge("tokenservice_db_connections_idle", "Database connections open and idle.",
			func(s sql.DBStats) float64 { return float64(s.Idle) }),
		counter("tokenservice_db_waits_total", "Times a query waited for a free database connection.",
			func(s sql.DBStats) float64 { return float64(s.WaitCount) }),
		counter("tokenservice_db_wait_seconds_total", "Time queries spent waiting for a free database connection.",
			func(s sql.DBStats) float64 { return s.WaitDuration.Seconds() }),
	)
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry, ErrorHandling: promhttp.ContinueOnError})
}

// knowRoutes records the route patterns requests may be counted under:
// every route but the catch-all ones that answer 404 (a group's "/*").
func (m *Metrics) knowRoutes(routes []*echo.Route) {
	for _, r := range routes {
		if r.Method != echo.RouteNotFound {
			m.routes[r.Path] = true
		}
	}
}

// countRequests counts every request and its duration by method, route
// pattern and status. It runs outside logRequests, which has turned an
// error into its response by then, so the status is the one sent.
func (m *Metrics) countRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		route := c.Path()
		if !m.routes[route] {
			route = "unmatched"
		}
		method, status := methodLabel(c.Request().Method), strconv.Itoa(c.Response().Status)
		m.requests.WithLabelValues(method, route, status).Inc()
		m.duration.WithLabelValues(method, route, status).Observe(time.Since(start).Seconds())
		return err
	}
}

// methodLabel is the request's method, or OTHER for one HTTP does not
// define: a client may send any token as a method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// tokenIssued counts a token issued to a client that authenticated by method.
func (m *Metrics) tokenIssued(method string) {
	if method != authBasic && method != authPost {
		method = "other"
	}
	m.tokensIssued.WithLabelValues(method).Inc()
}

// tokenRefused counts a token request refused with err.
func (m *Metrics) tokenRefused(err error) {
	m.tokensRefused.WithLabelValues(refusalReason(err)).Inc()
}

// refusalReason is the reason label of a refused token request: the OAuth
// error code, rate_limited for a 429, server_error for anything else.
func refusalReason(err error) string {
	var oe *oauthError
	if !errors.As(err, &oe) {
		return "server_error"
	}
	if oe.Status == http.StatusTooManyRequests {
		return "rate_limited"
	}
	switch oe.Code {
	case "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope":
		return oe.Code
	}
	return "server_error"
}

// refresh reads the numbers that take a query from the store.
func (m *Metrics) refresh(ctx context.Context, stats StatsStore, now time.Time) error {
	open, err := stats.OpenRevealWindows(ctx, now)
	if err != nil {
		return err
	}
	sizes, err := stats.AccountSizes(ctx)
	if err != nil {
		return err
	}
	m.revealWindows.Set(float64(open))
	m.accountSizes.set(sizes)
	return nil
}

// accountSizes exports the last AccountSizes as a histogram of accounts
// by their number of applications. It exports nothing before the first
// refresh: no number is better than a wrong zero.
type accountSizes struct {
	desc *prometheus.Desc

	mu      sync.Mutex
	known   bool
	count   uint64 // accounts
	sum     float64
	buckets map[float64]uint64 // cumulative
}

func (a *accountSizes) set(sizes []db.AccountSize) {
	buckets := make(map[float64]uint64, len(accountBuckets))
	for _, le := range accountBuckets {
		buckets[le] = 0 // every bucket is exported, also an empty one
	}
	var count uint64
	var sum float64
	for _, s := range sizes {
		count += uint64(s.Accounts)
		sum += float64(s.Applications * s.Accounts)
		for _, le := range accountBuckets {
			if float64(s.Applications) <= le {
				buckets[le] += uint64(s.Accounts)
			}
		}
	}
	a.mu.Lock()
	a.known, a.count, a.sum, a.buckets = true, count, sum, buckets
	a.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (a *accountSizes) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

// Collect implements prometheus.Collector.
func (a *accountSizes) Collect(ch chan<- prometheus.Metric) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.known {
		return
	}
	ch <- prometheus.MustNewConstHistogram(a.desc, a.count, a.sum, a.buckets)
}

// Metrics serves the service's metrics in the Prometheus format. The
// caller decides where: cmd/tokenservice serves them on their own
// (private) address, never on the portal's.
func (s *Server) Metrics() http.Handler { return s.metrics.Handler() }

// RefreshStats refreshes the metrics that take a database query: the open
// reveal windows and the accounts by number of applications. The sweeper
// calls it, so a scrape never queries the database, however often it comes.
func (s *Server) RefreshStats(ctx context.Context) error {
	if s.stats == nil {
		return nil
	}
	return s.metrics.refresh(ctx, s.stats, s.now())
}
