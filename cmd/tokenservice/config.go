package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tokenservice/db"
	"tokenservice/token"
	"tokenservice/views"
)

// Config is the whole configuration of tokenservice, read from defaults,
// then TOKENSERVICE_* environment variables, then flags (which win).
type Config struct {
	Addr        string
	PublicURL   string
	DataDir     string
	DatabaseURL string
	ServerKey   string // hex of 32 bytes; "" = generated in DataDir on first start

	OIDCIssuer       string
	OIDCClientID     string
	OIDCClientSecret string
	OIDCScopes       string // comma- or space-separated extra scopes
	AccountClaim     string
	AccountPrefix    string
	AccountNameClaim string
	RolesClaim       string
	AdminRole        string
	DefaultRole      string

	BCCAddr      string // where the bundled provider listens when no issuer is configured
	BCCUsersFile string

	RevealWindow  time.Duration
	TokenTTL      time.Duration
	TokenAudience string // comma-separated; "" = the public URL
	SigningAlg    string
	ScopesFile    string
	Region        string
	RegionName    string // display name; default from the code ("United States (US)" for us)
	Regions       string // "us=https://us.example.com,uk=United Kingdom (UK)|https://uk.example.com"
	SweepInterval time.Duration
	LogLevel      string
	LogFormat     string
	DebugAddr     string // serves net/http/pprof when set
	MetricsAddr   string // serves Prometheus /metrics when set

	// MaxSecretLifetime is the region's ceiling on how long a new client
	// secret may live, on top of each account's own maximum; 0 for none.
	MaxSecretLifetime time.Duration
	// TrustedProxies lists the proxies (IPs or CIDRs, comma-separated)
	// whose X-Forwarded-For header names the client.
	TrustedProxies string
	// AllowInsecurePermissions starts the server, with a warning, on a data
	// directory or server key file others may write (see insecurePaths).
	AllowInsecurePermissions bool
}

// defaultConfig is what a first run with no configuration uses.
func defaultConfig() Config {
	return Config{
		Addr:             "127.0.0.1:8080",
		DataDir:          "data",
		AccountClaim:     "account_id",
		AccountNameClaim: "account_name",
		RolesClaim:       "roles",
		AdminRole:        "admin",
		DefaultRole:      "viewer",
		BCCAddr:          "127.0.0.1:8081",
		RevealWindow:     15 * time.Minute,
		TokenTTL:         time.Hour,
		SigningAlg:       "ES256",
		Region:           "us",
		SweepInterval:    10 * time.Second,
		LogLevel:         "info",
		LogFormat:        "auto",
	}
}

// storeFlags registers the flags every command needs to reach the store.
func (c *Config) storeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the SQLite database and the generated server key")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "database: a SQLite file path (default <data-dir>/tokenservice.db), or postgres://user:password@host/dbname for several replicas sharing one PostgreSQL database")
	fs.StringVar(&c.ServerKey, "server-key", c.ServerKey, "64 hex characters; default: generated into <data-dir>/server.key on first start")
	fs.DurationVar(&c.RevealWindow, "reveal-window", c.RevealWindow, "how long a new Client Secret can be viewed")
	fs.DurationVar(&c.TokenTTL, "token-ttl", c.TokenTTL, "lifetime of access tokens (1m to 24h)")
	fs.DurationVar(&c.MaxSecretLifetime, "max-secret-lifetime", c.MaxSecretLifetime, "the region's ceiling on a new Client Secret's lifetime, on top of each account's own maximum: whole days in hours (e.g. 8760h for 365 days); 0: no ceiling")
	fs.StringVar(&c.SigningAlg, "signing-alg", c.SigningAlg, "algorithm of the first token-signing key and of keys rotate: ES256, RS256 or EdDSA")
	fs.StringVar(&c.ScopesFile, "scopes-file", c.ScopesFile, "JSON scope catalogue replacing the default one")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text, json, or auto: text with the bundled or a localhost provider or on a terminal, else json")
}

// serveFlags registers the flags of the server.
func (c *Config) serveFlags(fs *flag.FlagSet) {
	c.storeFlags(fs)
	fs.StringVar(&c.Addr, "addr", c.Addr, "address the portal listens on")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "URL people and applications reach the service at (default http://<addr>)")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", c.OIDCIssuer, "OpenID Provider issuer URL; empty starts the bundled BCC-like provider")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", c.OIDCClientID, "client ID registered at the provider")
	fs.StringVar(&c.OIDCClientSecret, "oidc-client-secret", c.OIDCClientSecret, "client secret registered at the provider")
	fs.StringVar(&c.OIDCScopes, "oidc-scopes", c.OIDCScopes, "extra scopes to request, comma-separated (e.g. groups)")
	fs.StringVar(&c.AccountClaim, "account-claim", c.AccountClaim, "ID-token claim naming the account (string or list), or email_domain")
	fs.StringVar(&c.AccountPrefix, "account-prefix", c.AccountPrefix, "with a list claim: use the entry starting with this prefix, stripped (e.g. account:)")
	fs.StringVar(&c.AccountNameClaim, "account-name-claim", c.AccountNameClaim, "ID-token claim with the account's display name")
	fs.StringVar(&c.RolesClaim, "roles-claim", c.RolesClaim, "ID-token claim holding the roles (string or list)")
	fs.StringVar(&c.AdminRole, "admin-role", c.AdminRole, "role value that lets a user change applications")
	fs.StringVar(&c.DefaultRole, "default-role", c.DefaultRole, "role of a user whose token carries none")
	fs.StringVar(&c.BCCAddr, "bcc-addr", c.BCCAddr, "address of the bundled provider (used when --oidc-issuer is empty)")
	fs.StringVar(&c.BCCUsersFile, "bcc-users-file", c.BCCUsersFile, "users file of the bundled provider (default: demo users)")
	fs.StringVar(&c.TokenAudience, "token-audience", c.TokenAudience, `"aud" of access tokens, comma-separated (default: the public URL)`)
	fs.StringVar(&c.Region, "region", c.Region, "this deployment's region, e.g. us or uk")
	fs.StringVar(&c.RegionName, "region-name", c.RegionName, `display name of this region (default: "United States (US)" for us, "United Kingdom (UK)" for uk, else the code in capitals)`)
	fs.StringVar(&c.Regions, "regions", c.Regions, "every region's portal for the switcher, comma-separated code=URL or code=Display name|URL, e.g. us=https://us.example.com,uk=https://uk.example.com")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For names the client; default: none, the connection's address")
	fs.StringVar(&c.DebugAddr, "debug-addr", c.DebugAddr, "address serving Go's profiler (/debug/pprof/); keep it private (e.g. 127.0.0.1:6060)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "address serving Prometheus metrics (/metrics), never on the portal's address; off when empty; keep it private (e.g. 127.0.0.1:9464)")
	fs.DurationVar(&c.SweepInterval, "sweep-interval", c.SweepInterval, "how often expired secrets and sessions are erased")
	fs.BoolVar(&c.AllowInsecurePermissions, "allow-insecure-permissions", c.AllowInsecurePermissions, "start, with a warning, even when the data directory, the server key, the SQLite database or its directory, the scopes file or the users file is writable by its group or others")
}

// parse reads env (TOKENSERVICE_<FLAG_NAME>) for every flag not given on the
// command line, then the flags themselves.
func parse(fs *flag.FlagSet, args []string) error { return parseEnvFor(fs, args, nil) }

// parseEnvFor is parse with the environment read only for the flags named
// in env (nil: every flag): a command's own flags, such as app
// rotate-secret's --grace, are never set by a variable left in the shell.
func parseEnvFor(fs *flag.FlagSet, args []string, env map[string]bool) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || (env != nil && !env[f.Name]) {
			return
		}
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		}
	})
	return errors.Join(errs...)
}

func envName(flagName string) string {
	return "TOKENSERVICE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Validate checks the configuration and fills in derived defaults.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("config: --data-dir is required")
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = filepath.Join(c.DataDir, "tokenservice.db")
	}
	if !db.IsPostgres(c.DatabaseURL) {
		c.DatabaseURL = strings.TrimPrefix(c.DatabaseURL, "sqlite://")
		c.DatabaseURL = strings.TrimPrefix(c.DatabaseURL, "sqlite:")
	}
	if c.RevealWindow < 10*time.Second || c.RevealWindow > 24*time.Hour {
		return fmt.Errorf("config: --reveal-window %s: must be between 10s and 24h", c.RevealWindow)
	}
	if c.TokenTTL < time.Minute || c.TokenTTL > 24*time.Hour {
		return fmt.Errorf("config: --token-ttl %s: must be between 1m and 24h", c.TokenTTL)
	}
	if _, err := token.ParseAlgorithm(c.SigningAlg); err != nil {
		return fmt.Errorf("config: --signing-alg: %w", err)
	}
	switch day := 24 * time.Hour; {
	case c.MaxSecretLifetime < 0:
		return fmt.Errorf("config: --max-secret-lifetime %s: must not be negative; 0 means no ceiling", c.MaxSecretLifetime)
	case c.MaxSecretLifetime%day != 0:
		return fmt.Errorf("config: --max-secret-lifetime %s: must be a whole number of days in hours, e.g. 720h for 30 days or 8760h for 365 days, or 0 for no ceiling", c.MaxSecretLifetime)
	}
	if c.SweepInterval <= 0 {
		return errors.New("config: --sweep-interval must be positive")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("config: --public-url %q: must be http(s)://host[:port] without a path", c.PublicURL)
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	if c.OIDCIssuer != "" && (c.OIDCClientID == "" || c.OIDCClientSecret == "") {
		return errors.New("config: --oidc-issuer needs --oidc-client-id and --oidc-client-secret")
	}
	if c.AccountClaim == "" || c.RolesClaim == "" || c.AdminRole == "" {
		return errors.New("config: --account-claim, --roles-claim and --admin-role must not be empty")
	}
	if !validRegionCode(c.Region) {
		return fmt.Errorf("config: --region: %q is not a region code (lower-case letters, digits and -, e.g. us)", c.Region)
	}
	if _, err := c.regionList(""); err != nil {
		return err
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
	}
	return c.refuseDangerous()
}

// trustedProxies parses --trusted-proxies.
func (c *Config) trustedProxies() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		cidr := p
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				cidr += "/32"
			} else {
				cidr += "/128"
			}
		}
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			return nil, fmt.Errorf("config: --trusted-proxies: %q is not an IP address or CIDR", p)
		}
		out = append(out, n)
	}
	return out, nil
}

// regionList parses --regions: every region's code, display name and portal
// URL, in the order given. This deployment's own region is in the list even
// when --regions leaves it out (with publicURL).
func (c *Config) regionList(publicURL string) ([]views.Region, error) {
	var out []views.Region
	own := false
	for _, part := range strings.Split(c.Regions, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		code, rest, ok := strings.Cut(part, "=")
		code = strings.TrimSpace(code)
		label, u, named := strings.Cut(rest, "|")
		if !named {
			label, u = "", rest
		}
		u = strings.TrimSpace(u)
		if pu, err := url.Parse(u); !ok || !validRegionCode(code) || err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("config: --regions: %q is not code=https://url or code=Display name|https://url", part)
		}
		if code == c.Region {
			own, label = true, c.regionLabel()
		}
		out = append(out, views.Region{Name: code, Label: regionLabel(code, strings.TrimSpace(label)), URL: u})
	}
	if !own && len(out) > 0 {
		out = append([]views.Region{{Name: c.Region, Label: c.regionLabel(), URL: publicURL}}, out...)
	}
	return out, nil
}

// validRegionCode: a short lower-case code such as us, uk or eu-west.
func validRegionCode(code string) bool {
	if code == "" || len(code) > 16 {
		return false
	}
	for _, r := range code {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// regionLabel is the display name of this deployment's region.
func (c *Config) regionLabel() string { return regionLabel(c.Region, c.RegionName) }

// regionLabel is name, or a display name made from the region code.
func regionLabel(code, name string) string {
	if name != "" {
		return name
	}
	switch code {
	case "us":
		return "United States (US)"
	case "uk":
		return "United Kingdom (UK)"
	}
	return strings.ToUpper(code)
}

// audience splits --token-audience.
func (c *Config) audience() []string {
	var out []string
	for _, a := range strings.Split(c.TokenAudience, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// extraScopes splits --oidc-scopes.
func (c *Config) extraScopes() []string {
	return strings.FieldsFunc(c.OIDCScopes, func(r rune) bool { return r == ',' || r == ' ' })
}

// refuseDangerous refuses, saying what to change, a configuration that would
// start but be unsafe or broken in production only, so that the first run,
// development and the tests still start without a server key, over http.
func (c *Config) refuseDangerous() error {
	if c.PublicURL != "" {
		if u, _ := url.Parse(c.PublicURL); u.Scheme != "https" && !loopbackHost(u.Hostname()) {
			return fmt.Errorf("config: --public-url %s: must be https:// (TLS may end at a proxy in front of the service); "+
				"plain http is for localhost only: session cookies, Client Secrets and tokens would cross the network unencrypted", c.PublicURL)
		}
	}
	if c.OIDCIssuer != "" {
		u, err := url.Parse(c.OIDCIssuer)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("config: --oidc-issuer %q: must be the provider's issuer URL, https://host[/path]", c.OIDCIssuer)
		}
		if u.Scheme != "https" && !loopbackHost(u.Hostname()) {
			return fmt.Errorf("config: --oidc-issuer %s: must be https://; plain http is for a provider on localhost only: "+
				"the portal's client secret and the ID tokens would cross the network unencrypted", c.OIDCIssuer)
		}
	}
	if c.production() {
		if c.PublicURL == "" {
			return errors.New("config: --public-url is required with an external --oidc-issuer: " +
				"it is the issuer of the access tokens and where the provider sends users back, e.g. https://us.tokens.example.com")
		}
		if _, err := os.Stat(serverKeyPath(*c)); c.ServerKey == "" && err != nil {
			return fmt.Errorf("config: no server key: with an external --oidc-issuer, set --server-key (or TOKENSERVICE_SERVER_KEY) "+
				"to 64 hex characters (e.g. from `openssl rand -hex 32`) or put them in %s, and back them up. "+
				"A key generated on the spot lives only in the data directory: every Client Secret stops working when it is lost, "+
				"and each replica would generate a different one", serverKeyPath(*c))
		}
	}
	if _, err := os.Stat(serverKeyPath(*c)); db.IsPostgres(c.DatabaseURL) && c.ServerKey == "" && err != nil {
		return fmt.Errorf("config: no server key: with a PostgreSQL --database-url, set --server-key (or TOKENSERVICE_SERVER_KEY) "+
			"to the same 64 hex characters on every replica (e.g. from `openssl rand -hex 32`), or put them in %s: "+
			"replicas that each generated a key of their own could not read each other's secrets and signing keys", serverKeyPath(*c))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("config: --log-level %q: must be debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "auto" && c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("config: --log-format %q: must be auto, text or json", c.LogFormat)
	}
	for _, a := range []struct{ flag, addr string }{{"--metrics-addr", c.MetricsAddr}, {"--debug-addr", c.DebugAddr}} {
		if a.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(a.addr); err != nil {
			return fmt.Errorf("config: %s %q: must be host:port, e.g. 127.0.0.1:9464", a.flag, a.addr)
		} else if a.addr == c.Addr && port != "0" {
			return fmt.Errorf("config: %s %s: must not be the portal's --addr: it is for the operator, not for the public", a.flag, a.addr)
		}
	}
	if host, _, err := net.SplitHostPort(c.DebugAddr); c.DebugAddr != "" && err == nil && !loopbackHost(host) {
		return fmt.Errorf("config: --debug-addr %s: must be on localhost (e.g. 127.0.0.1:6060): the profiler shows the process's memory and goroutines; reach it through an SSH tunnel", c.DebugAddr)
	}
	proxies, _ := c.trustedProxies()
	for _, n := range proxies {
		if ones, _ := n.Mask.Size(); ones == 0 {
			return fmt.Errorf("config: --trusted-proxies %s: trusts every address, so any client could name any address "+
				"in X-Forwarded-For and escape the rate limits; list the proxies' own addresses", n)
		}
	}
	return nil
}

// insecurePath is a file or directory of the service that users other than
// its owner may write.
type insecurePath struct {
	what, path string
	mode       os.FileMode
}

func (p insecurePath) String() string {
	return fmt.Sprintf("the %s %s is writable by its group or others (mode %s)", p.what, p.path, p.octal())
}

// octal is the permission bits as chmod takes them, e.g. 0777.
func (p insecurePath) octal() string { return fmt.Sprintf("%04o", uint32(p.mode.Perm())) }

// fix is the command that makes the path writable by its owner alone.
func (p insecurePath) fix() string { return "chmod go-w " + p.path }

// insecurePaths lists the files the service trusts that others may write:
// the data directory, the server key, a SQLite database and its directory,
// the scopes file and the provider's users file. Whoever can write one could
// put in a key, an admin user or applications of their own, or read every
// Client Secret shown from then on.
func (c *Config) insecurePaths() []insecurePath {
	var out []insecurePath
	seen := map[string]bool{}
	check := func(what, path string) {
		if path == "" || seen[filepath.Clean(path)] {
			return
		}
		seen[filepath.Clean(path)] = true
		if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o022 != 0 {
			out = append(out, insecurePath{what: what, path: path, mode: st.Mode()})
		}
	}
	check("data directory", c.DataDir)
	if c.ServerKey == "" {
		check("server key", serverKeyPath(*c))
	}
	if database := c.sqlitePath(); database != "" {
		check("database directory", filepath.Dir(database))
		check("database", database)
	}
	check("scopes file", c.ScopesFile)
	check("users file", c.BCCUsersFile)
	return out
}

// sqlitePath is the SQLite database file the configuration names, "" for
// PostgreSQL.
func (c *Config) sqlitePath() string {
	path := c.DatabaseURL
	if path == "" {
		path = filepath.Join(c.DataDir, "tokenservice.db")
	}
	if db.IsPostgres(path) {
		return ""
	}
	return strings.TrimPrefix(strings.TrimPrefix(path, "sqlite://"), "sqlite:")
}

// production reports whether users sign in at an external provider that
// is not on this machine: what a real deployment does, and what the
// bundled provider (the default) and a provider on localhost do not.
func (c *Config) production() bool {
	if c.OIDCIssuer == "" {
		return false
	}
	u, err := url.Parse(c.OIDCIssuer)
	return err != nil || !loopbackHost(u.Hostname())
}

// loopbackHost reports whether host is this machine: localhost (RFC 6761
// reserves it and its subdomains) or a loopback address.
func loopbackHost(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
