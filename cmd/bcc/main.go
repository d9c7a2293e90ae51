// Command bcc runs the bundled BCC-like OpenID Provider on its own, for local development and
// end-to-end tests. Every flag can also be set from the environment as BCC_<NAME>, e.g.
// BCC_ADDR or BCC_USERS_FILE; a flag wins over the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"tokenservice/bcc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, logger); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		logger.Error("bcc: " + err.Error())
		os.Exit(1)
	}
}

// config is everything the command reads from flags and the environment.
type config struct {
	Addr                   string
	Issuer                 string
	UsersFile              string
	ClientID               string
	ClientSecret           string
	ClientName             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// ExtraClients are further relying parties, e.g. the portal of a second
	// region signing in through the same provider.
	ExtraClients []bcc.Client
}

// parseConfig reads flags over environment variables over defaults.
func parseConfig(args []string, getenv func(string) string, output io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := getenv("BCC_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	var cfg config
	fs := flag.NewFlagSet("bcc", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.StringVar(&cfg.Addr, "addr", env("addr", "127.0.0.1:8081"), "address to listen on (env BCC_ADDR)")
	fs.StringVar(&cfg.Issuer, "issuer", env("issuer", ""), "public base URL of the provider; default http://<addr> (env BCC_ISSUER)")
	fs.StringVar(&cfg.UsersFile, "users-file", env("users-file", ""), "JSON file of accounts and users; empty for demo users (env BCC_USERS_FILE)")
	fs.StringVar(&cfg.ClientID, "client-id", env("client-id", "tokenservice"), "client ID of the relying party (env BCC_CLIENT_ID)")
	fs.StringVar(&cfg.ClientSecret, "client-secret", env("client-secret", "tokenservice-dev-secret"), "client secret of the relying party; empty for a public client (env BCC_CLIENT_SECRET)")
	redirects := newListFlag(env("redirect-uri", "http://127.0.0.1:8080/auth/callback"))
	fs.Var(redirects, "redirect-uri", "allowed redirect URI; repeatable or comma-separated (env BCC_REDIRECT_URI)")
	postLogout := newListFlag(env("post-logout-redirect-uri", "http://127.0.0.1:8080/auth/signed-out"))
	fs.Var(postLogout, "post-logout-redirect-uri", "allowed post-logout redirect URI; repeatable or comma-separated (env BCC_POST_LOGOUT_REDIRECT_URI)")
	fs.StringVar(&cfg.ClientName, "client-name", env("client-name", ""), "what the login page says the user signs in to; default the client ID (env BCC_CLIENT_NAME)")
	fs.Func("extra-client", "another relying party, repeatable: 'id=…;secret=…;name=…;redirect=URL;post-logout=URL' (redirect and post-logout repeatable)", func(v string) error {
		c, err := parseClient(v)
		if err != nil {
			return err
		}
		cfg.ExtraClients = append(cfg.ExtraClients, c)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	cfg.RedirectURIs = redirects.values
	cfg.PostLogoutRedirectURIs = postLogout.values
	return cfg, cfg.Validate()
}

// Validate checks what the provider itself cannot: the listen address.
func (c config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("--addr %q: %w", c.Addr, err)
	}
	if c.ClientID == "" {
		return errors.New("--client-id is required")
	}
	if len(c.RedirectURIs) == 0 {
		return errors.New("--redirect-uri is required")
	}
	return nil
}

// issuerFor is the issuer to use when none is configured: the listen address over http, with
// a wildcard host replaced by localhost.
func issuerFor(addr net.Addr) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func run(ctx context.Context, args []string, getenv func(string) string, output io.Writer, logger *slog.Logger) error {
	cfg, err := parseConfig(args, getenv, output)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	if cfg.Issuer == "" {
		cfg.Issuer = issuerFor(ln.Addr())
	}

	provider, err := bcc.New(bcc.Config{
		Issuer:    cfg.Issuer,
		UsersFile: cfg.UsersFile,
		Clients: append([]bcc.Client{{
			ID:                     cfg.ClientID,
			Secret:                 cfg.ClientSecret,
			Name:                   cfg.ClientName,
			RedirectURIs:           cfg.RedirectURIs,
			PostLogoutRedirectURIs: cfg.PostLogoutRedirectURIs,
		}}, cfg.ExtraClients...),
	}, logger)
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           provider,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("bcc: listening", "addr", ln.Addr().String(), "issuer", cfg.Issuer,
		"discovery", strings.TrimSuffix(cfg.Issuer, "/")+"/.well-known/openid-configuration",
		"client_id", cfg.ClientID, "redirect_uris", cfg.RedirectURIs)
	for _, u := range provider.Users() {
		attrs := []any{"email", u.Email, "name", u.Name, "account", u.AccountID, "roles", u.Roles}
		if provider.Demo() {
			attrs = append(attrs, "password", "demo")
		}
		logger.Info("bcc: user", attrs...)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("bcc: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// parseClient reads an --extra-client value: semicolon-separated key=value
// pairs, with id and at least one redirect required.
func parseClient(v string) (bcc.Client, error) {
	var c bcc.Client
	for _, part := range strings.Split(v, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return bcc.Client{}, fmt.Errorf("--extra-client: %q is not key=value", part)
		}
		switch key = strings.TrimSpace(key); key {
		case "id":
			c.ID = value
		case "secret":
			c.Secret = value
		case "name":
			c.Name = value
		case "redirect":
			c.RedirectURIs = append(c.RedirectURIs, value)
		case "post-logout":
			c.PostLogoutRedirectURIs = append(c.PostLogoutRedirectURIs, value)
		default:
			return bcc.Client{}, fmt.Errorf("--extra-client: unknown key %q (id, secret, name, redirect, post-logout)", key)
		}
	}
	if c.ID == "" || len(c.RedirectURIs) == 0 {
		return bcc.Client{}, fmt.Errorf("--extra-client %q: id and redirect are required", v)
	}
	return c, nil
}

// listFlag is a repeatable, comma-separated flag whose first use replaces its default.
type listFlag struct {
	values []string
	set    bool
}

func newListFlag(def string) *listFlag {
	return &listFlag{values: splitList(def)}
}

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.values, ",")
}

func (l *listFlag) Set(v string) error {
	if !l.set {
		l.values, l.set = nil, true
	}
	l.values = append(l.values, splitList(v)...)
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
