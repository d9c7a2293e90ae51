package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/html"

	"tokenservice/db"
	"tokenservice/db/pgtest/pgserver"
	"tokenservice/secret"
)

// targetPageP99 is the server time the list, details and filter pages
// stay within at the 99th percentile, with 100,000 applications and
// 1,000,000 audit events.
const targetPageP99 = 5 * time.Millisecond

// The account the page benchmarks seed and sign in to: the bundled
// provider's demo admin belongs to it.
const (
	pagesAccount  = "acme"
	pagesEmail    = "admin@acme.example"
	pagesPassword = "demo" // the bundled provider's demo password
)

// pagesOptions are the flags of pages.
type pagesOptions struct {
	binary   string
	stores   []string // "sqlite", "postgres"
	apps     int
	events   int
	requests int // measured requests per page
	warmup   int // unmeasured requests per page first
	filter   string
	dir      string // where pages.md goes
}

// runPages is "loadgen pages".
func runPages(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadgen pages", stderr)
	var (
		o      pagesOptions
		stores string
	)
	fs.StringVar(&o.binary, "tokenservice", "", "path of the tokenservice binary to measure (required)")
	fs.StringVar(&stores, "stores", "sqlite,postgres", "stores to measure on, comma-separated: sqlite, postgres")
	fs.IntVar(&o.apps, "apps", 100_000, "applications of the account")
	fs.IntVar(&o.events, "events", 1_000_000, "audit events of the account")
	fs.IntVar(&o.requests, "n", 300, "measured requests per page")
	fs.IntVar(&o.warmup, "warmup", 30, "unmeasured requests per page before them")
	fs.StringVar(&o.filter, "filter", "siem", "the Applications filter measured (the seeded names hold it in about one in 15)")
	fs.StringVar(&o.dir, "dir", "docs/bench", "directory of the report's fragments: pages.md goes there")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.binary == "" {
		return errors.New("pages: --tokenservice is required")
	}
	if o.apps < 100 || o.events < o.apps || o.requests < 1 || o.warmup < 0 {
		return errors.New("pages: --apps must be at least 100, --events at least --apps, -n positive, --warmup not negative")
	}
	for _, s := range strings.Split(stores, ",") {
		if s = strings.TrimSpace(s); s != storeSQLite && s != storePostgres {
			return fmt.Errorf("pages: --stores %q: want sqlite and/or postgres", stores)
		}
		o.stores = append(o.stores, strings.TrimSpace(s))
	}
	bin, err := filepath.Abs(o.binary)
	if err != nil {
		return err
	}
	o.binary = bin

	var runs []pagesRun
	for _, store := range o.stores {
		r, err := measurePages(ctx, o, store, stderr)
		if err != nil {
			return err
		}
		runs = append(runs, *r)
	}
	md := pagesMarkdown(o, runs)
	fmt.Fprint(stdout, md)
	if o.dir != "" {
		if err := os.MkdirAll(o.dir, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(o.dir, "pages.md"), []byte(md), 0o644)
	}
	return nil
}

// The stores a benchmark can run on.
const (
	storeSQLite   = "sqlite"
	storePostgres = "postgres"
)

// storeTitle is how the report names a store.
func storeTitle(store string) string {
	if store == storePostgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

// seededServer is a tokenservice process on a store that Seed filled, with
// its request log in a file.
type seededServer struct {
	url       string // the portal, http://127.0.0.1:PORT
	debugAddr string // Go's profiler: /debug/pprof/
	child     *child
	dbURL     string
	apps      []createdApp
	seedTime  time.Duration
}

// storeHost provides the stores servers run on: a SQLite file in a
// temporary directory, or a new schema of one throwaway PostgreSQL server
// (db/pgtest/pgserver) started on first use.
type storeHost struct {
	tmp string
	pg  *pgserver.Server
	n   int
}

func newStoreHost() (*storeHost, error) {
	tmp, err := os.MkdirTemp("", "loadgen-pages-")
	if err != nil {
		return nil, err
	}
	return &storeHost{tmp: tmp}, nil
}

// close stops the PostgreSQL server, if one was started, and removes every
// store.
func (h *storeHost) close() {
	if h.pg != nil {
		h.pg.Stop()
	}
	os.RemoveAll(h.tmp)
}

// startSeeded seeds a new store of kind store with apps applications and
// events audit events of pagesAccount, and starts binary on it with its
// defaults but for free loopback ports, a JSON request log and the
// profiler. Progress goes to logw.
func (h *storeHost) startSeeded(ctx context.Context, binary, store string, apps, events int, logw io.Writer) (*seededServer, error) {
	h.n++
	dataDir := filepath.Join(h.tmp, fmt.Sprintf("%s-%d", store, h.n))
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	addrs, err := freeAddrs(3)
	if err != nil {
		return nil, err
	}
	s := &seededServer{url: "http://" + addrs[0], debugAddr: addrs[2]}
	args := []string{"--data-dir", dataDir, "--addr", addrs[0], "--bcc-addr", addrs[1], "--debug-addr", addrs[2],
		"--log-format", "json"}
	var key []byte
	switch store {
	case storePostgres:
		if h.pg == nil {
			fmt.Fprintln(logw, "starting a throwaway PostgreSQL server (db/pgtest/pgserver)")
			if h.pg, err = pgserver.Start(); err != nil {
				return nil, err
			}
		}
		if s.dbURL, err = h.pg.CreateSchema(ctx); err != nil {
			return nil, err
		}
		key = make([]byte, secret.KeySize)
		crand.Read(key)
		args = append(args, "--database-url", s.dbURL, "--server-key", hex.EncodeToString(key))
	default:
		s.dbURL = filepath.Join(dataDir, "tokenservice.db")
		if key, err = dataDirServerKey(dataDir); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	s.apps, err = Seed(ctx, SeedOptions{DatabaseURL: s.dbURL, ServerKey: key, Account: pagesAccount, Apps: apps, Events: events})
	if err != nil {
		return nil, err
	}
	s.seedTime = time.Since(start)
	fmt.Fprintf(logw, "%s: seeded %d applications and %d audit events in %s\n", storeTitle(store), apps, events, s.seedTime.Round(time.Millisecond))
	s.child, err = startChild("tokenservice", binary, args, cleanEnv(), filepath.Join(dataDir, "tokenservice.log"))
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, s.child, s.url+"/readyz", 120*time.Second); err != nil {
		s.child.stop()
		return nil, err
	}
	return s, nil
}

// portal is a signed-in browser of the portal: a cookie jar, keep-alive
// connections and the session's CSRF token.
type portal struct {
	base   string
	client *http.Client
	csrf   string
}

// signIn signs email in through the bundled provider's login form, as a
// person does: the portal sends the browser to the provider, the form is
// posted with the demo password, and the provider sends it back signed in.
func signIn(ctx context.Context, base, email, password string) (*portal, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	p := &portal{base: base, client: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second}}
	login, loginURL, err := p.fetch(ctx, http.MethodGet, base+"/applications", nil)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	action, fields, ok := loginForm(login)
	if !ok {
		return nil, fmt.Errorf("sign in: GET /applications ended at %s without the provider's login form", loginURL)
	}
	fields.Set("email", email)
	fields.Set("password", password)
	target, err := loginURL.Parse(action)
	if err != nil {
		return nil, fmt.Errorf("sign in: login form action %q: %w", action, err)
	}
	page, landed, err := p.fetch(ctx, http.MethodPost, target.String(), fields)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	if landed.String() != base+"/applications" {
		return nil, fmt.Errorf("sign in as %s: ended at %s, want %s/applications", email, landed, base)
	}
	if p.csrf = metaContent(page, "csrf-token"); p.csrf == "" {
		return nil, errors.New("sign in: no CSRF token on the Applications page")
	}
	return p, nil
}

// fetch sends a request, following redirects, and returns the body and the
// URL it ended at.
func (p *portal) fetch(ctx context.Context, method, target string, form url.Values) (string, *url.URL, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return "", nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("%s %s: HTTP %d", method, resp.Request.URL, resp.StatusCode)
	}
	return string(b), resp.Request.URL, nil
}

// loginForm finds the provider's login form (data-testid="login-form") and
// returns its action and hidden fields.
func loginForm(page string) (action string, fields url.Values, ok bool) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return "", nil, false
	}
	fields = url.Values{}
	var form *html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "form" && attr(n, "data-testid") == "login-form" {
			form = n
			break
		}
	}
	if form == nil {
		return "", nil, false
	}
	for n := range form.Descendants() {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "type") == "hidden" {
			fields.Set(attr(n, "name"), attr(n, "value"))
		}
	}
	return attr(form, "action"), fields, true
}

// metaContent is the content of the page's <meta name=name>, or "".
func metaContent(page, name string) string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return ""
	}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "meta" && attr(n, "name") == name {
			return attr(n, "content")
		}
	}
	return ""
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// pageCase is one page the benchmark requests again and again.
type pageCase struct {
	name   string
	method string
	path   string
	form   url.Values // POST only; the CSRF token is added
	want   int        // the status every answer must have
	target bool       // held to targetPageP99
}

// pageTimes are one page's measured requests.
type pageTimes struct {
	pageCase
	client   []time.Duration // sorted
	server   []time.Duration // sorted, from the request log
	errors   int
	firstErr string
	ids      []string // request ids of the measured requests
}

// pagesRun is the measurement of every page on one store.
type pagesRun struct {
	store    string
	seedTime time.Duration
	pages    []*pageTimes
}

// measurePages seeds a store, starts the server on it, signs in and
// requests every page in turn.
func measurePages(ctx context.Context, o pagesOptions, store string, logw io.Writer) (*pagesRun, error) {
	host, err := newStoreHost()
	if err != nil {
		return nil, err
	}
	defer host.close()
	srv, err := host.startSeeded(ctx, o.binary, store, o.apps, o.events, logw)
	if err != nil {
		return nil, err
	}
	defer srv.child.stop()
	p, err := signIn(ctx, srv.url, pagesEmail, pagesPassword)
	if err != nil {
		return nil, srv.child.failure(err.Error())
	}
	cases, err := pageCases(ctx, srv, o)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "%s: %d pages × (%d warm-up + %d measured) requests, one after the other\n",
		storeTitle(store), len(cases), o.warmup, o.requests)
	pages, err := p.measure(ctx, cases, o.warmup, o.requests)
	if err != nil {
		return nil, srv.child.failure(err.Error())
	}
	if err := serverTimes(srv.child.log, pages); err != nil {
		return nil, err
	}
	run := &pagesRun{store: store, seedTime: srv.seedTime, pages: pages}
	for _, pt := range pages {
		fmt.Fprintf(logw, "  %-40s server p50 %s p99 %s   client p50 %s p99 %s   errors %d\n", pt.name,
			fmtMillis(percentile(pt.server, 50)), fmtMillis(percentile(pt.server, 99)),
			fmtMillis(percentile(pt.client, 50)), fmtMillis(percentile(pt.client, 99)), pt.errors)
	}
	return run, nil
}

// pageCases are the pages measured on srv's seeded account: the list's
// first page, a page in the middle of it (by the same keyset cursor its
// Next link carries) and a filter, in each of its orders; one
// application's details, the Add form refused for an empty name, and the
// Activity page, whole and filtered.
func pageCases(ctx context.Context, srv *seededServer, o pagesOptions) ([]pageCase, error) {
	var cases []pageCase
	for _, ls := range listSorts {
		mid, err := listRow(ctx, srv.dbURL, ls, o.apps/2)
		if err != nil {
			return nil, err
		}
		q := url.Values{}
		if ls.param != "name" {
			q.Set("sort", ls.param)
		}
		title := "Applications"
		if ls.title != "" {
			title += ", " + ls.title
		}
		deep := url.Values{"after": {mid.cursor()}}
		filter := url.Values{"q": {o.filter}}
		for k, v := range q {
			deep[k], filter[k] = v, v
		}
		cases = append(cases,
			pageCase{name: title + ", first page", method: http.MethodGet, path: "/applications?" + q.Encode(), want: 200, target: true},
			pageCase{name: fmt.Sprintf("%s, page at row %d", title, o.apps/2+1), method: http.MethodGet,
				path: "/applications?" + deep.Encode(), want: 200, target: true},
			pageCase{name: fmt.Sprintf("%s, filter %q", title, o.filter), method: http.MethodGet,
				path: "/applications?" + filter.Encode(), want: 200, target: true})
	}
	details := srv.apps[len(srv.apps)/2].ClientID
	return append(cases, []pageCase{
		{name: "Details", method: http.MethodGet, path: "/applications/" + details, want: 200, target: true},
		{name: "Add, empty name refused", method: http.MethodPost, path: "/applications",
			form: url.Values{"name": {""}}, want: http.StatusUnprocessableEntity},
		{name: "Activity", method: http.MethodGet, path: "/activity", want: 200},
		{name: "Activity, filter by action", method: http.MethodGet, path: "/activity?action=application.renamed", want: 200},
	}...), nil
}

// listSort is an order of the Applications list: its sort parameter, how
// the report names it ("" for the default, by name A to Z), and the store's
// key (see db.ListApplications).
type listSort struct {
	param, title string
	key          string
	text, desc   bool
}

// listSorts are the orders of the list, each measured.
var listSorts = []listSort{
	{param: "name", key: "name_key", text: true},
	{param: "-name", title: "name Z to A", key: "name_key", text: true, desc: true},
	{param: "-created", title: "newest first", key: "created_at", desc: true},
	{param: "created", title: "oldest first", key: "created_at"},
	{param: "-last_used", title: "most recently used first", key: "coalesce(last_used_at, 0)", desc: true},
	{param: "last_used", title: "least recently used first", key: "coalesce(last_used_at, 0)"},
}

// listKey is the sort key of a row of the Applications list, with the
// order and position its cursor carries.
type listKey struct {
	Sort     string `json:"s,omitempty"`
	Text     string `json:"k,omitempty"`
	Num      int64  `json:"v,omitempty"`
	ClientID string `json:"c"`
	Offset   int    `json:"o,omitempty"`
}

// cursor is the list's keyset cursor after the row: what the Next link of
// the page ending with it carries (base64url of the JSON sort key, see
// db.ListApplications).
func (k listKey) cursor() string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

// listRow reads the sort key of the n-th row (from 0) of pagesAccount's
// Applications list in the order ls.
func listRow(ctx context.Context, dbURL string, ls listSort, n int) (listKey, error) {
	driverName := "sqlite"
	if db.IsPostgres(dbURL) {
		driverName = "pgx"
	}
	sqldb, err := sql.Open(driverName, dbURL)
	if err != nil {
		return listKey{}, err
	}
	defer sqldb.Close()
	order := ls.key + ", client_id"
	if ls.desc {
		order = ls.key + " DESC, client_id DESC"
	}
	query := `SELECT ` + ls.key + `, client_id FROM applications WHERE account_id = ? ORDER BY ` + order + ` LIMIT 1 OFFSET ?`
	if db.IsPostgres(dbURL) {
		query = strings.NewReplacer("= ?", "= $1", "OFFSET ?", "OFFSET $2").Replace(query)
	}
	k := listKey{Offset: n + 1}
	if ls.param != "name" {
		k.Sort = ls.param
	}
	dest := any(&k.Num)
	if ls.text {
		dest = &k.Text
	}
	if err := sqldb.QueryRowContext(ctx, query, pagesAccount, n).Scan(dest, &k.ClientID); err != nil {
		return listKey{}, fmt.Errorf("pages: row %d of the list by %s: %w", n, ls.param, err)
	}
	return k, nil
}

// measure requests the pages in turn, warmup+n rounds of one request
// each, one request at a time over keep-alive, and times the last n.
// Taking the pages in turn spreads whatever else the machine does over
// all of them alike.
func (p *portal) measure(ctx context.Context, cases []pageCase, warmup, n int) ([]*pageTimes, error) {
	out := make([]*pageTimes, len(cases))
	for i, c := range cases {
		out[i] = &pageTimes{pageCase: c, client: make([]time.Duration, 0, n), ids: make([]string, 0, n)}
	}
	for round := range warmup + n {
		for _, pt := range out {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			lat, id, err := p.request(ctx, pt.pageCase)
			if round < warmup {
				if err != nil && round == 0 {
					return nil, fmt.Errorf("%s: %w", pt.name, err)
				}
				continue
			}
			if err != nil {
				pt.errors++
				if pt.firstErr == "" {
					pt.firstErr = err.Error()
				}
				continue
			}
			pt.client = append(pt.client, lat)
			pt.ids = append(pt.ids, id)
		}
	}
	for _, pt := range out {
		slices.Sort(pt.client)
	}
	return out, nil
}

// request sends one request of c without following redirects, reads the
// whole answer and returns its latency and request id.
func (p *portal) request(ctx context.Context, c pageCase) (time.Duration, string, error) {
	var body io.Reader
	if c.method == http.MethodPost {
		f := url.Values{"_csrf": {p.csrf}}
		for k, v := range c.form {
			f[k] = v
		}
		body = strings.NewReader(f.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, c.method, p.base+c.path, body)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	start := time.Now()
	resp, err := p.client.Transport.RoundTrip(withCookies(req, p.client.Jar))
	if err != nil {
		return 0, "", err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	lat := time.Since(start)
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode != c.want {
		return 0, "", fmt.Errorf("HTTP %d, want %d", resp.StatusCode, c.want)
	}
	return lat, resp.Header.Get("X-Request-Id"), nil
}

// withCookies adds the jar's cookies for req's URL, as http.Client does;
// the benchmark sends requests through the transport itself so that a
// redirect is an answer, not a second request.
func withCookies(req *http.Request, jar http.CookieJar) *http.Request {
	for _, c := range jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	return req
}

// serverTimes fills each page's server times from the request log at
// logPath: the duration_ms of the line with each measured request's id.
func serverTimes(logPath string, pages []*pageTimes) error {
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	durations, err := requestDurations(f)
	if err != nil {
		return fmt.Errorf("request log %s: %w", logPath, err)
	}
	for _, pt := range pages {
		pt.server = pt.server[:0]
		for _, id := range pt.ids {
			if d, ok := durations[id]; ok {
				pt.server = append(pt.server, d)
			}
		}
		if len(pt.server) != len(pt.ids) {
			return fmt.Errorf("request log %s: %d of %d requests of %q have no request line", logPath,
				len(pt.ids)-len(pt.server), len(pt.ids), pt.name)
		}
		slices.Sort(pt.server)
	}
	return nil
}

// requestDurations reads the server's JSON log and returns the duration of
// every request line by request id.
func requestDurations(r io.Reader) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var rec struct {
			Msg        string   `json:"msg"`
			RequestID  string   `json:"request_id"`
			DurationMS *float64 `json:"duration_ms"`
		}
		if json.Unmarshal(line, &rec) != nil || rec.Msg != "request" || rec.RequestID == "" || rec.DurationMS == nil {
			continue
		}
		out[rec.RequestID] = time.Duration(*rec.DurationMS * float64(time.Millisecond))
	}
	return out, sc.Err()
}

// pagesMarkdown is the pages.md fragment of the report.
func pagesMarkdown(o pagesOptions, runs []pagesRun) string {
	var b strings.Builder
	b.WriteString("## Pages\n\n")
	fmt.Fprintf(&b, "The portal's pages for an account with %s applications and %s audit events, on each store.\n\n",
		thousands(o.apps), thousands(o.events))
	b.WriteString("### How it is measured\n\n")
	b.WriteString("- **store**: filled by `loadgen seed`'s loader (realistic names, one to all scopes of the default\n")
	b.WriteString("  catalogue, a year of events: creations, renames, scope changes, secret views and resets, sign-ins)\n")
	b.WriteString("  through the product's schema; PostgreSQL is a throwaway local server (`db/pgtest/pgserver`, fsync off).\n")
	b.WriteString("  `bin/tokenservice` runs on it with its defaults but for free loopback ports and a JSON request log.\n")
	b.WriteString("- **client**: signed in as the demo admin through the bundled provider's login form, like a person;\n")
	fmt.Fprintf(&b, "  then one request at a time over one keep-alive connection, the pages in turn: %d rounds of\n", o.warmup+o.requests)
	fmt.Fprintf(&b, "  warm-up, then %d measured requests of each page. Every answer must have the page's status.\n", o.requests)
	b.WriteString("- **server** time is the `duration_ms` of each measured request's line in the server's request log\n")
	b.WriteString("  (matched by request id): from the router to the last byte handed to the connection, so without\n")
	b.WriteString("  the network and the client. **client** time is from sending the request to reading the whole answer.\n")
	fmt.Fprintf(&b, "- The deep page is the one that starts at row %s of the list, asked for with the cursor its\n", thousands(o.apps/2+1))
	fmt.Fprintf(&b, "  previous page's Next link carries; the filter is %q, which about one name in 15 holds. Each is\n", o.filter)
	b.WriteString("  measured in every order of the list (by name, by creation and by last use, both ways; two in\n")
	b.WriteString("  three seeded applications got a token in the last 30 days, the others never).\n\n")

	b.WriteString("### Results\n\n")
	b.WriteString("| store | page | server p50 | server p99 | client p50 | client p99 | requests | errors |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
		for _, pt := range r.pages {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %d | %d |\n", storeTitle(r.store), pt.name,
				fmtMillis(percentile(pt.server, 50)), fmtMillis(percentile(pt.server, 99)),
				fmtMillis(percentile(pt.client, 50)), fmtMillis(percentile(pt.client, 99)), len(pt.client), pt.errors)
		}
	}
	b.WriteString("\nSeeding the store (not part of any page's time):")
	for i, r := range runs {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s %s", storeTitle(r.store), r.seedTime.Round(100*time.Millisecond))
	}
	b.WriteString(".\n")
	for _, r := range runs {
		for _, pt := range r.pages {
			if pt.firstErr != "" {
				fmt.Fprintf(&b, "\nFirst error of %s on %s: %s\n", pt.name, storeTitle(r.store), pt.firstErr)
			}
		}
	}

	b.WriteString("\n### Targets\n\n| target | measured | |\n|---|---|---|\n")
	for _, r := range runs {
		var worst *pageTimes
		errs := 0
		for _, pt := range r.pages {
			errs += pt.errors
			if pt.target && (worst == nil || percentile(pt.server, 99) > percentile(worst.server, 99)) {
				worst = pt
			}
		}
		if worst != nil {
			got := percentile(worst.server, 99)
			fmt.Fprintf(&b, "| %s: server p99 ≤ %s for the list in every order, its deep page, the filter and Details | worst %s (%s) | %s |\n",
				storeTitle(r.store), fmtMillis(targetPageP99), fmtMillis(got), worst.name, mark(got <= targetPageP99))
		}
		fmt.Fprintf(&b, "| %s: no page answers other than expected | %d | %s |\n", storeTitle(r.store), errs, mark(errs == 0))
	}
	return b.String()
}

// mark is a target's verdict.
func mark(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}
