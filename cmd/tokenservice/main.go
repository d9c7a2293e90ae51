// Command tokenservice runs the Token Service: the portal where team admins
// register applications, and (with no configuration) the bundled BCC-like
// identity provider to sign in with. Its subcommands operate on the same store.
//
//	tokenservice [flags]                 run the service
//	tokenservice app create|list|reset-secret|rotate-secret|credentials|revoke-credential|delete …
//	tokenservice keys rotate|list
//	tokenservice backup FILE             a consistent copy while the server runs
//	tokenservice restore FILE            put a backup back (server stopped)
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"tokenservice"
	"tokenservice/application"
	"tokenservice/bcc"
	"tokenservice/db"
	"tokenservice/handlers"
	"tokenservice/scope"
	"tokenservice/secret"
	"tokenservice/session"
	"tokenservice/static"
	"tokenservice/token"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts a graceful shutdown; a second one ends the
	// process at once, as if no handler were installed.
	shuttingDown = stop
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tokenservice:", errorMessage(err))
		os.Exit(1)
	}
}

// errorMessage is what the command prints for err: the message of a domain
// error, which the operations word for people, else the error itself.
func errorMessage(err error) string {
	if code := tokenservice.ErrorCode(err); code != tokenservice.EINTERNAL {
		return tokenservice.ErrorMessage(err)
	}
	return err.Error()
}

// run dispatches to the server or a subcommand.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "app" {
		return runApp(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "keys" {
		return runKeys(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "backup" {
		return runBackup(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "restore" {
		return runRestore(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	m := NewMain()
	fs := newFlagSet("tokenservice", stderr)
	m.Config.serveFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	m.Logger = newLogger(m.Config, stderr)
	// Libraries that log through slog's default (the OpenID client) log
	// like the service does.
	slog.SetDefault(m.Logger)
	if err := m.Open(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	// Before anything closes: from here a second signal ends the process.
	shuttingDown()
	m.Logger.Info("shutting down")
	return m.Close()
}

// shuttingDown is called when the server starts its graceful shutdown;
// main sets it to restore the signals' default action.
var shuttingDown = func() {}

// newLogger is the service's logger: with --log-format auto, text where a
// person reads it (development, a terminal), else JSON for a log collector.
// It runs before Validate: a bad level or format means the defaults.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if logJSON(cfg, w) {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logJSON reports whether the logs are JSON: see newLogger.
func logJSON(cfg Config, w io.Writer) bool {
	switch cfg.LogFormat {
	case "json":
		return true
	case "text":
		return false
	}
	if !cfg.production() {
		return false
	}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return false
		}
	}
	return true
}

// Main is the running service: the store, the portal and, without an
// external issuer, the bundled provider. Tests start it on port 0.
type Main struct {
	Config Config
	Logger *slog.Logger

	// URL is the portal's public URL, known after Open.
	URL string
	// ProviderURL is the issuer the portal signs in with, known after Open.
	ProviderURL string
	// MetricsURL is where Prometheus scrapes the metrics, known after Open;
	// "" without --metrics-addr.
	MetricsURL string

	Store   *db.DB
	Keyring *token.Keyring
	// Applications is the operations on applications the portal's handlers
	// call, known after Open: tests act through it as an admin would.
	Applications *application.Service
	// Now is the clock of the token service and the portal; tests move it.
	Now func() time.Time

	server  *handlers.Server
	servers []*http.Server
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Config: defaultConfig(), Logger: slog.Default(), Now: time.Now}
}

// Open validates the configuration, opens the store, starts the provider (if
// bundled) and the portal, and returns once both are listening.
func (m *Main) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if err := m.Config.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(m.Config.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := m.checkPermissions(); err != nil {
		return err
	}
	serverKey, err := loadServerKey(m.Config)
	if err != nil {
		return err
	}
	keys, err := secret.NewKeys(serverKey)
	if err != nil {
		return err
	}
	catalogue, err := loadCatalogue(m.Config)
	if err != nil {
		return err
	}
	if m.Store, err = db.Open(ctx, m.Config.DatabaseURL); err != nil {
		return err
	}
	proxies, _ := m.Config.trustedProxies()
	if m.Keyring, err = openKeyring(ctx, m.Config, m.Store, serverKey, m.Logger); err != nil {
		return err
	}
	m.Keyring.SetClock(func() time.Time { return m.Now() })

	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", m.Config.Addr, err)
	}
	m.URL = m.Config.PublicURL
	if m.URL == "" {
		m.URL = "http://" + ln.Addr().String()
	}
	regions, _ := m.Config.regionList(m.URL)

	oidcCfg := handlers.OIDCConfig{
		Issuer: m.Config.OIDCIssuer, ClientID: m.Config.OIDCClientID, ClientSecret: m.Config.OIDCClientSecret,
		RedirectURL: m.URL + "/auth/callback", Scopes: m.Config.extraScopes(),
		AccountClaim: m.Config.AccountClaim, AccountPrefix: m.Config.AccountPrefix, AccountNameClaim: m.Config.AccountNameClaim,
		RolesClaim: m.Config.RolesClaim, AdminRole: m.Config.AdminRole, DefaultRole: m.Config.DefaultRole,
	}
	var provider *bcc.Provider
	if oidcCfg.Issuer == "" {
		if provider, err = m.startProvider(&oidcCfg); err != nil {
			ln.Close()
			return err
		}
	}
	m.ProviderURL = oidcCfg.Issuer
	oidcClient, err := handlers.NewOIDC(ctx, oidcCfg)
	if err != nil {
		ln.Close()
		return err
	}

	hashKey, _ := secret.Derive(serverKey, "tokenservice session cookie hmac v1")
	blockKey, _ := secret.Derive(serverKey, "tokenservice session cookie aes v1")
	sessions := session.NewStore(m.Store, hashKey, blockKey)
	sessions.Now = func() time.Time { return m.Now() } // the idle and absolute timeouts run on the service's clock
	m.Applications = newApplications(m.Config, m.Store, catalogue, keys, func() time.Time { return m.Now() })
	m.server = handlers.NewServer(handlers.Config{
		PublicURL: m.URL, Region: m.Config.Region, RegionLabel: m.Config.regionLabel(), Regions: regions, RevealWindow: m.Config.RevealWindow,
		Catalogue: catalogue, ClientSecretKeys: keys, ServerKey: serverKey, Store: m.Store,
		Applications: m.Applications, MaxSecretLifetime: m.Config.MaxSecretLifetime,
		TokenStore: m.Store, SigningKeys: m.Keyring, TokenTTL: m.Config.TokenTTL, Audience: m.Config.audience(),
		TrustedProxies: proxies,
		Sessions:       sessions, OIDC: oidcClient, Logger: m.Logger,
		Now:   func() time.Time { return m.Now() },
		Stats: m.Store,
	})
	m.serve(ln, m.server)
	if err := m.servePrivate(); err != nil {
		return err
	}

	sweepCtx, cancel := context.WithCancel(context.Background())
	m.stop = cancel
	m.wg.Add(1)
	go func() { defer m.wg.Done(); m.sweep(sweepCtx) }()

	if !static.Has("vendor/htmx.min.js") {
		m.Logger.Warn("static/vendor/htmx.min.js is missing: run `go tool task assets` before building, or pages will work without htmx")
	}
	m.Logger.Info("Token Service is running", "portal", m.URL, "region", m.Config.Region, "database", db.Redacted(m.Config.DatabaseURL), "issuer", m.ProviderURL)
	if provider != nil {
		m.Logger.Info("Open the portal and sign in with a demo user (password: demo) or one of the users file", "url", m.URL+"/applications")
		for _, u := range provider.Users() {
			m.Logger.Info("  user", "email", u.Email, "account", u.AccountID, "roles", strings.Join(u.Roles, ","))
		}
	}
	return nil
}

// checkPermissions refuses to start on a data directory or server key file
// that others may write (see insecurePaths), before the key is read; with
// --allow-insecure-permissions it only warns.
func (m *Main) checkPermissions() error {
	paths := m.Config.insecurePaths()
	if len(paths) == 0 {
		return nil
	}
	if !m.Config.AllowInsecurePermissions {
		var found, fixes []string
		for _, p := range paths {
			found, fixes = append(found, p.String()), append(fixes, p.fix())
		}
		return fmt.Errorf("config: %s: whoever can write there could put in a server key, an admin user or applications of their own, "+
			"and read every Client Secret shown from then on. Run `%s`, or pass --allow-insecure-permissions (TOKENSERVICE_ALLOW_INSECURE_PERMISSIONS=true) to start anyway",
			strings.Join(found, ", and "), strings.Join(fixes, " && "))
	}
	for _, p := range paths {
		m.Logger.Warn("the "+p.what+" is writable by its group or others; starting anyway (--allow-insecure-permissions)",
			"path", p.path, "mode", p.octal(), "fix", p.fix())
	}
	return nil
}

// warnPermissions warns the operator running a command on the store that
// its data directory or server key file is writable by others: the server
// would refuse to start.
func warnPermissions(cfg Config, stderr io.Writer) {
	for _, p := range cfg.insecurePaths() {
		fmt.Fprintf(stderr, "tokenservice: warning: %s; run `%s` (the server refuses to start on it)\n", p, p.fix())
	}
}

// startProvider starts the bundled BCC-like provider and points cfg at it.
func (m *Main) startProvider(cfg *handlers.OIDCConfig) (*bcc.Provider, error) {
	ln, err := net.Listen("tcp", m.Config.BCCAddr)
	if err != nil {
		return nil, fmt.Errorf("bundled identity provider: listen %s: %w (set --bcc-addr, or --oidc-issuer for an external provider)", m.Config.BCCAddr, err)
	}
	issuer := "http://" + ln.Addr().String()
	clientSecret := make([]byte, 32)
	rand.Read(clientSecret)
	cfg.Issuer, cfg.ClientID, cfg.ClientSecret = issuer, "tokenservice", hex.EncodeToString(clientSecret)
	p, err := bcc.New(bcc.Config{
		Issuer:    issuer,
		UsersFile: m.Config.BCCUsersFile,
		Clients: []bcc.Client{{
			ID: cfg.ClientID, Secret: cfg.ClientSecret, Name: "Token Service · " + m.Config.regionLabel(),
			RedirectURIs:           []string{cfg.RedirectURL},
			PostLogoutRedirectURIs: []string{m.URL + "/auth/signed-out"},
		}},
	}, m.Logger.With("component", "bcc"))
	if err != nil {
		ln.Close()
		return nil, err
	}
	m.serve(ln, p)
	return p, nil
}

// servePrivate serves the metrics (--metrics-addr) and Go's profiler
// (--debug-addr), for the operator only, on their own addresses, never the
// portal's; one listener serves both when the two addresses are the same.
func (m *Main) servePrivate() error {
	mux := map[string]*http.ServeMux{}
	handle := func(addr, pattern string, h http.Handler) {
		if mux[addr] == nil {
			mux[addr] = http.NewServeMux()
		}
		mux[addr].Handle(pattern, h)
	}
	if addr := m.Config.MetricsAddr; addr != "" {
		handle(addr, "GET /metrics", m.server.Metrics())
	}
	if addr := m.Config.DebugAddr; addr != "" {
		handle(addr, "/debug/pprof/", http.HandlerFunc(pprof.Index))
		handle(addr, "/debug/pprof/profile", http.HandlerFunc(pprof.Profile))
		handle(addr, "/debug/pprof/symbol", http.HandlerFunc(pprof.Symbol))
		handle(addr, "/debug/pprof/trace", http.HandlerFunc(pprof.Trace))
	}
	for _, addr := range []string{m.Config.MetricsAddr, m.Config.DebugAddr} {
		if mux[addr] == nil {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen %s (--metrics-addr, --debug-addr): %w", addr, err)
		}
		m.serve(ln, mux[addr])
		delete(mux, addr)
		if addr == m.Config.MetricsAddr {
			m.MetricsURL = "http://" + ln.Addr().String() + "/metrics"
			m.Logger.Info("metrics listening", "url", m.MetricsURL)
		}
		if addr == m.Config.DebugAddr {
			m.Logger.Info("profiler listening", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
		}
	}
	return nil
}

func (m *Main) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	m.servers = append(m.servers, srv)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("server stopped", "err", err)
		}
	}()
}

// sweep erases secrets whose reveal window has ended and expired sessions,
// writes the token counters, and forgets what no token can need any more:
// expired revocations, old counters, retired signing keys.
func (m *Main) sweep(ctx context.Context) {
	t := time.NewTicker(m.Config.SweepInterval)
	defer t.Stop()
	for {
		now := m.Now()
		if err := m.server.FlushUsage(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Error("write token counters", "err", err)
		}
		if _, err := m.Store.DeleteExpiredRevocations(ctx, now); err != nil && ctx.Err() == nil {
			m.Logger.Error("delete expired revocations", "err", err)
		}
		if _, err := m.Store.DeleteOldTokenUsage(ctx, now); err != nil && ctx.Err() == nil {
			m.Logger.Error("delete old token counters", "err", err)
		}
		if n, err := m.Keyring.Prune(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Error("delete retired signing keys", "err", err)
		} else if n > 0 {
			m.Logger.Info("deleted retired signing keys whose tokens have all expired", "count", n)
		}
		if n, err := m.Store.RetireCredentials(ctx, now); err != nil && ctx.Err() == nil {
			m.Logger.Error("retire credentials", "err", err)
		} else if n > 0 {
			m.Logger.Info("revoked credentials whose grace period ended, or recorded their expiry", "count", n)
		}
		if n, err := m.Store.EraseExpiredSecrets(ctx, now); err != nil && ctx.Err() == nil {
			m.Logger.Error("erase expired secrets", "err", err)
		} else if n > 0 {
			m.Logger.Info("erased client secrets whose reveal window ended", "count", n)
		}
		if _, err := m.Store.DeleteExpiredSessions(ctx, now); err != nil && ctx.Err() == nil {
			m.Logger.Error("delete expired sessions", "err", err)
		}
		// The statistics take queries that grow with the store (counting
		// every account's applications): only when metrics are served.
		if m.Config.MetricsAddr != "" {
			if err := m.server.RefreshStats(ctx); err != nil && ctx.Err() == nil {
				m.Logger.Error("refresh metrics", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// shutdownGrace is how long Close lets in-flight requests finish.
const shutdownGrace = 10 * time.Second

// Close lets in-flight requests finish for up to shutdownGrace, then closes
// the store (a handler outliving the grace fails its write, unacknowledged);
// the portal stops first, so a sign-in in flight still reaches the provider.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var errs []error
	for i := len(m.servers) - 1; i >= 0; i-- {
		if err := m.servers[i].Shutdown(ctx); err != nil {
			m.Logger.Warn("requests still running at the end of the shutdown grace period: closing their connections", "grace", shutdownGrace, "err", err)
			errs = append(errs, err, m.servers[i].Close())
		}
	}
	if m.stop != nil {
		m.stop()
	}
	m.wg.Wait()
	if m.server != nil {
		errs = append(errs, m.server.FlushUsage(context.Background()))
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}

// loadServerKey returns the configured server key, or the one in the data
// directory, generating it on first start. Losing it makes every stored
// secret unverifiable: back it up with the database.
func loadServerKey(cfg Config) ([]byte, error) {
	if cfg.ServerKey != "" {
		k, err := hex.DecodeString(strings.TrimSpace(cfg.ServerKey))
		if err != nil || len(k) != secret.KeySize {
			return nil, errors.New("config: --server-key must be 64 hex characters (32 bytes)")
		}
		return k, nil
	}
	path := serverKeyPath(cfg)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k := make([]byte, secret.KeySize)
		rand.Read(k)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("server key: %w", err)
		}
		if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("server key: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("server key: %w", err)
		}
		return k, f.Close()
	} else if err != nil {
		return nil, fmt.Errorf("server key: %w", err)
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != secret.KeySize {
		return nil, fmt.Errorf("server key %s: not 64 hex characters", path)
	}
	return k, nil
}

// serverKeyPath is where the generated server key lives.
func serverKeyPath(cfg Config) string { return filepath.Join(cfg.DataDir, "server.key") }

// openKeyring loads the token-signing keys, generating the first one.
func openKeyring(ctx context.Context, cfg Config, store *db.DB, serverKey []byte, logger *slog.Logger) (*token.Keyring, error) {
	kr, err := token.NewKeyring(store, serverKey, cfg.TokenTTL)
	if err != nil {
		return nil, err
	}
	kr.SetLogger(logger)
	alg, err := token.ParseAlgorithm(cfg.SigningAlg)
	if err != nil {
		return nil, err
	}
	current, err := kr.Ensure(ctx, alg)
	if err != nil {
		return nil, err
	}
	if current != alg {
		logger.Warn("the current signing key's algorithm is not --signing-alg, which only chooses the first key; `tokenservice keys rotate --signing-alg` changes it",
			"current", current, "signing_alg", alg)
	}
	return kr, nil
}

// newApplications is the operations on applications that the portal and the
// operator CLI share, with the configuration's reveal window and the
// region's ceiling on secret lifetimes (--max-secret-lifetime).
func newApplications(cfg Config, store *db.DB, catalogue *scope.Catalogue, keys *secret.Keys, now func() time.Time) *application.Service {
	ops := application.NewService(store, catalogue, keys, cfg.RevealWindow, now)
	ops.SetMaxSecretLifetime(cfg.MaxSecretLifetime)
	return ops
}

func loadCatalogue(cfg Config) (*scope.Catalogue, error) {
	if cfg.ScopesFile == "" {
		return scope.Default(), nil
	}
	return scope.Load(cfg.ScopesFile)
}
