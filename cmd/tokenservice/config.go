package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	Regions       string // "us=https://us.example.com,uk=https://uk.example.com"
	SweepInterval time.Duration
	LogLevel      string
	LogFormat     string
	DebugAddr     string // serves net/http/pprof when set
	// TrustedProxies lists the proxies (IPs or CIDRs, comma-separated)
	// whose X-Forwarded-For header names the client.
	TrustedProxies string
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
		LogFormat:        "text",
	}
}

// storeFlags registers the flags every command needs to reach the store.
func (c *Config) storeFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the SQLite database and the generated server key")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "database: a SQLite file path (default <data-dir>/tokenservice.db)")
	fs.StringVar(&c.ServerKey, "server-key", c.ServerKey, "64 hex characters; default: generated into <data-dir>/server.key on first start")
	fs.DurationVar(&c.RevealWindow, "reveal-window", c.RevealWindow, "how long a new Client Secret can be viewed")
	fs.DurationVar(&c.TokenTTL, "token-ttl", c.TokenTTL, "lifetime of access tokens (1m to 24h)")
	fs.StringVar(&c.SigningAlg, "signing-alg", c.SigningAlg, "algorithm of the first token-signing key and of keys rotate: ES256, RS256 or EdDSA")
	fs.StringVar(&c.ScopesFile, "scopes-file", c.ScopesFile, "JSON scope catalogue replacing the default one")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
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
	fs.StringVar(&c.Regions, "regions", c.Regions, "every region's portal URL for the switcher: us=https://…,uk=https://…")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For names the client; default: none, the connection's address")
	fs.StringVar(&c.DebugAddr, "debug-addr", c.DebugAddr, "address serving Go's profiler (/debug/pprof/); keep it private (e.g. 127.0.0.1:6060)")
	fs.DurationVar(&c.SweepInterval, "sweep-interval", c.SweepInterval, "how often expired secrets and sessions are erased")
}

// parse reads env (TOKENSERVICE_<FLAG_NAME>) for every flag not given on the
// command line, then the flags themselves.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
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
	if strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return errors.New("config: --database-url: PostgreSQL is not supported yet; use a SQLite file path")
	}
	c.DatabaseURL = strings.TrimPrefix(c.DatabaseURL, "sqlite://")
	c.DatabaseURL = strings.TrimPrefix(c.DatabaseURL, "sqlite:")
	if c.RevealWindow < 10*time.Second || c.RevealWindow > 24*time.Hour {
		return fmt.Errorf("config: --reveal-window %s: must be between 10s and 24h", c.RevealWindow)
	}
	if c.TokenTTL < time.Minute || c.TokenTTL > 24*time.Hour {
		return fmt.Errorf("config: --token-ttl %s: must be between 1m and 24h", c.TokenTTL)
	}
	if _, err := token.ParseAlgorithm(c.SigningAlg); err != nil {
		return fmt.Errorf("config: --signing-alg: %w", err)
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
	if _, err := c.regionList(); err != nil {
		return err
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
	}
	return nil
}

// trustedProxies parses --trusted-proxies.
func (c *Config) trustedProxies() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("config: --trusted-proxies: %q is not an IP address or CIDR", p)
		}
		out = append(out, n)
	}
	return out, nil
}

// regionList parses --regions.
func (c *Config) regionList() ([]views.Region, error) {
	var out []views.Region
	for _, part := range strings.Split(c.Regions, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, u, ok := strings.Cut(part, "=")
		if pu, err := url.Parse(u); !ok || name == "" || err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
			return nil, fmt.Errorf("config: --regions: %q is not name=https://url", part)
		}
		out = append(out, views.Region{Name: strings.TrimSpace(name), URL: strings.TrimSpace(u)})
	}
	return out, nil
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
