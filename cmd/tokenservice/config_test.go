package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// configFrom parses args (and TOKENSERVICE_* variables) as the server does,
// into a configuration whose data directory is a fresh temporary one.
func configFrom(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	cfg := defaultConfig()
	fs := newFlagSet("tokenservice", io.Discard)
	cfg.serveFlags(fs)
	if err := parse(fs, append([]string{"--data-dir", t.TempDir()}, args...)); err != nil {
		return nil, err
	}
	return &cfg, cfg.Validate()
}

// A production setup in the tests' terms: an external provider, https.
var production = []string{"--oidc-issuer", "https://sso.example.com/realms/acme", "--oidc-client-id", "tokenservice",
	"--oidc-client-secret", "s3cret", "--public-url", "https://us.tokens.example.com"}

const testServerKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// TestConfigRefused: every dangerous or broken configuration is refused at
// start-up with a message that names the flag and says what to do.
func TestConfigRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error
	}{
		{name: "PublicURLPlainHTTP", args: []string{"--public-url", "http://tokens.example.com"},
			want: "--public-url http://tokens.example.com: must be https://"},
		{name: "PublicURLPlainHTTPFromEnv", env: map[string]string{"TOKENSERVICE_PUBLIC_URL": "http://10.0.0.5:8080"},
			want: "--public-url http://10.0.0.5:8080: must be https://"},
		{name: "PublicURLAllInterfaces", args: []string{"--public-url", "http://0.0.0.0:8080"},
			want: "must be https://"},
		{name: "PublicURLWithPath", args: []string{"--public-url", "https://example.com/tokens"},
			want: "without a path"},
		{name: "IssuerWithoutClientID", args: []string{"--oidc-issuer", "https://sso.example.com", "--oidc-client-secret", "s"},
			want: "--oidc-issuer needs --oidc-client-id and --oidc-client-secret"},
		{name: "IssuerWithoutClientSecret", args: []string{"--oidc-issuer", "https://sso.example.com", "--oidc-client-id", "c"},
			want: "--oidc-issuer needs --oidc-client-id and --oidc-client-secret"},
		{name: "IssuerPlainHTTP", args: []string{"--oidc-issuer", "http://sso.example.com", "--oidc-client-id", "c", "--oidc-client-secret", "s"},
			want: "--oidc-issuer http://sso.example.com: must be https://"},
		{name: "IssuerNotURL", args: []string{"--oidc-issuer", "sso.example.com", "--oidc-client-id", "c", "--oidc-client-secret", "s"},
			want: "must be the provider's issuer URL"},
		{name: "ProductionWithoutPublicURL", args: []string{"--oidc-issuer", "https://sso.example.com", "--oidc-client-id", "c",
			"--oidc-client-secret", "s", "--server-key", testServerKey},
			want: "--public-url is required with an external --oidc-issuer"},
		{name: "ProductionWithoutServerKey", args: production,
			want: "no server key: with an external --oidc-issuer, set --server-key (or TOKENSERVICE_SERVER_KEY)"},
		{name: "DebugAddrNotLocal", args: []string{"--debug-addr", "0.0.0.0:6060"},
			want: "--debug-addr 0.0.0.0:6060: must be on localhost"},
		{name: "PostgresWithoutServerKey", args: []string{"--database-url", "postgres://ts@db.internal/tokenservice"},
			want: "no server key: with a PostgreSQL --database-url"},
		{name: "TrustedProxyNotIP", args: []string{"--trusted-proxies", "10.0.0.1,proxy.internal"},
			want: `--trusted-proxies: "proxy.internal" is not an IP address or CIDR`},
		{name: "TrustedProxyEveryIPv4", args: []string{"--trusted-proxies", "0.0.0.0/0"},
			want: "--trusted-proxies 0.0.0.0/0: trusts every address"},
		{name: "TrustedProxyEveryIPv6", args: []string{"--trusted-proxies", "10.0.0.1, ::/0"},
			want: "--trusted-proxies ::/0: trusts every address"},
		{name: "TokenTTLTooShort", args: []string{"--token-ttl", "30s"}, want: "--token-ttl 30s: must be between 1m and 24h"},
		{name: "TokenTTLTooLong", args: []string{"--token-ttl", "48h"}, want: "--token-ttl 48h0m0s: must be between 1m and 24h"},
		{name: "RevealWindowTooLong", args: []string{"--reveal-window", "25h"}, want: "--reveal-window 25h0m0s: must be between 10s and 24h"},
		{name: "MaxSecretLifetimeNegative", args: []string{"--max-secret-lifetime", "-720h"},
			want: "--max-secret-lifetime -720h0m0s: must not be negative"},
		{name: "MaxSecretLifetimeNegativeFromEnv", env: map[string]string{"TOKENSERVICE_MAX_SECRET_LIFETIME": "-1s"},
			want: "--max-secret-lifetime -1s: must not be negative"},
		{name: "MaxSecretLifetimeNotDays", args: []string{"--max-secret-lifetime", "36h"},
			want: "--max-secret-lifetime 36h0m0s: must be a whole number of days"},
		{name: "LogLevel", args: []string{"--log-level", "verbose"}, want: `--log-level "verbose": must be debug, info, warn or error`},
		{name: "LogFormat", args: []string{"--log-format", "xml"}, want: `--log-format "xml": must be auto, text or json`},
		{name: "MetricsAddrNoPort", args: []string{"--metrics-addr", "9464"}, want: `--metrics-addr "9464": must be host:port`},
		{name: "MetricsOnThePortal", args: []string{"--addr", "0.0.0.0:8080", "--metrics-addr", "0.0.0.0:8080"},
			want: "--metrics-addr 0.0.0.0:8080: must not be the portal's --addr"},
		{name: "ProfilerOnThePortal", args: []string{"--debug-addr", "127.0.0.1:8080"},
			want: "--debug-addr 127.0.0.1:8080: must not be the portal's --addr"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := configFrom(t, tt.args...)
			if err == nil {
				t.Fatalf("accepted; want the error %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to say %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "config: ") {
				t.Errorf("error %q does not start with config:", err)
			}
		})
	}
}

// TestConfigAccepted: what a first run, development, the bundled or a
// local provider, the test suite and a complete production setup use.
func TestConfigAccepted(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		prep func(t *testing.T, dataDir string)
	}{
		{name: "FirstRun"},
		{name: "Localhost", args: []string{"--public-url", "http://localhost:8080"}},
		{name: "LocalhostSubdomain", args: []string{"--public-url", "http://us.tokens.localhost:8080"}},
		{name: "Loopback", args: []string{"--public-url", "http://127.0.0.1:8080"}},
		{name: "LoopbackIPv6", args: []string{"--public-url", "http://[::1]:8080"}},
		{name: "ListenEverywhereWithBundledProvider", args: []string{"--addr", "0.0.0.0:8080"}},
		{name: "HTTPSWithBundledProvider", args: []string{"--public-url", "https://tokens.example.test"}},
		// go tool task run:regions: a provider on localhost is development.
		{name: "LocalProvider", args: []string{"--oidc-issuer", "http://127.0.0.1:8081", "--oidc-client-id", "c", "--oidc-client-secret", "s"}},
		{name: "ProductionWithServerKey", args: append([]string{"--server-key", testServerKey}, production...)},
		{name: "ProductionWithKeyFile", args: production, prep: func(t *testing.T, dataDir string) {
			if err := os.WriteFile(filepath.Join(dataDir, "server.key"), []byte(testServerKey+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "TrustedProxies", args: []string{"--trusted-proxies", "10.0.0.0/8, 192.168.1.10, fd00::/8"}},
		{name: "MetricsAndProfiler", args: []string{"--metrics-addr", "127.0.0.1:9464", "--debug-addr", "127.0.0.1:9464"}},
		{name: "MetricsEverywhere", args: []string{"--metrics-addr", ":9464"}},
		{name: "MaxSecretLifetime", args: []string{"--max-secret-lifetime", "8760h"}},
		{name: "MaxSecretLifetimeNone", args: []string{"--max-secret-lifetime", "0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			if tt.prep != nil {
				tt.prep(t, dataDir)
			}
			if _, err := configFrom(t, append(tt.args, "--data-dir", dataDir)...); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

// TestOpenRefusesProductionWithoutServerKey: the server itself stops before
// it listens or writes a key, with the message.
func TestOpenRefusesProductionWithoutServerKey(t *testing.T) {
	m := NewMain()
	m.Config.DataDir = t.TempDir()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.OIDCIssuer, m.Config.OIDCClientID, m.Config.OIDCClientSecret = "https://sso.example.com", "tokenservice", "s3cret"
	m.Config.PublicURL = "https://us.tokens.example.com"
	err := m.Open(context.Background())
	if err == nil {
		m.Close()
		t.Fatal("a production setup without a server key started")
	}
	if !strings.Contains(err.Error(), "no server key") {
		t.Errorf("error %q, want it to say: no server key", err)
	}
	if _, err := os.Stat(serverKeyPath(m.Config)); err == nil {
		t.Error("a server key was generated anyway")
	}
}

// TestInsecurePermissions: the server refuses to start on a data directory
// or server key file its group or others may write, naming the path, its
// mode and the chmod that fixes it; --allow-insecure-permissions starts it
// with a warning in the log; the operator commands warn and work.
func TestInsecurePermissions(t *testing.T) {
	for _, tt := range []struct {
		name             string
		dirMode, keyMode os.FileMode
		file             string // the one others may write; "" for the data directory
		mode             string
	}{
		{"DataDirWorldWritable", 0o777, 0o600, "", "0777"},
		{"DataDirGroupWritable", 0o770, 0o600, "", "0770"},
		{"ServerKeyGroupWritable", 0o700, 0o620, "server.key", "0620"},
		{"ServerKeyWorldWritable", 0o755, 0o646, "server.key", "0646"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			key := filepath.Join(dir, "server.key")
			if err := os.WriteFile(key, []byte(testServerKey+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := errors.Join(os.Chmod(key, tt.keyMode), os.Chmod(dir, tt.dirMode)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tt.file)

			t.Run("Refused", func(t *testing.T) {
				m := NewMain()
				m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
				m.Config.DataDir, m.Config.Addr, m.Config.BCCAddr = dir, "127.0.0.1:0", "127.0.0.1:0"
				err := m.Open(context.Background())
				if err == nil {
					m.Close()
					t.Fatal("started")
				}
				for _, want := range []string{"config: ", path + " is writable by its group or others", "mode " + tt.mode,
					"chmod go-w " + path, "--allow-insecure-permissions"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q, want it to say %q", err, want)
					}
				}
				if _, err := os.Stat(filepath.Join(dir, "tokenservice.db")); err == nil {
					t.Error("the refused server created the database")
				}
			})
			t.Run("Allowed", func(t *testing.T) {
				var logs syncBuffer
				newMain(t, func(m *Main) {
					m.Logger = slog.New(slog.NewTextHandler(&logs, nil))
					m.Config.DataDir, m.Config.AllowInsecurePermissions = dir, true
				})
				for _, want := range []string{"level=WARN", "writable by its group or others", "path=" + path, "mode=" + tt.mode, `fix="chmod go-w ` + path} {
					if !strings.Contains(logs.String(), want) {
						t.Errorf("the log does not say %q:\n%s", want, logs.String())
					}
				}
			})
			t.Run("OperatorCommands", func(t *testing.T) {
				cmd := exec.CommandContext(t.Context(), tokenserviceBinary(t), "app", "list", "--data-dir", dir, "--account", "acme")
				cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TOKENSERVICE_") })
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("app list: %v\n%s", err, stderr.String())
				}
				if want := "warning: the " + map[string]string{"": "data directory", "server.key": "server key"}[tt.file] + " " + path; !strings.Contains(stderr.String(), want) {
					t.Errorf("app list said %q, want a warning about %s", stderr.String(), path)
				}
			})
		})
	}

	t.Run("FromEnvironment", func(t *testing.T) {
		t.Setenv("TOKENSERVICE_ALLOW_INSECURE_PERMISSIONS", "true")
		cfg, err := configFrom(t)
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.AllowInsecurePermissions {
			t.Error("TOKENSERVICE_ALLOW_INSECURE_PERMISSIONS=true does not allow it")
		}
	})

	t.Run("OwnerOnly", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "server.key"), []byte(testServerKey+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		newMain(t, func(m *Main) { m.Config.DataDir = dir })
	})
}

// TestLogFormat: auto is text for a person (the bundled or a local
// provider, a terminal) and JSON for a log collector (production).
func TestLogFormat(t *testing.T) {
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		tty = nil // no terminal here (CI): that case is skipped below
	} else {
		defer tty.Close()
	}
	local := defaultConfig()
	prod := defaultConfig()
	prod.OIDCIssuer = "https://sso.example.com"
	for _, tt := range []struct {
		name   string
		format string
		cfg    Config
		w      io.Writer
		json   bool
	}{
		{"AutoBundledProvider", "auto", local, io.Discard, false},
		{"AutoProduction", "auto", prod, io.Discard, true},
		{"AutoProductionTerminal", "auto", prod, tty, false},
		{"Text", "text", prod, io.Discard, false},
		{"JSON", "json", local, io.Discard, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if f, ok := tt.w.(*os.File); ok && f == nil {
				t.Skip("no terminal")
			}
			tt.cfg.LogFormat = tt.format
			if got := logJSON(tt.cfg, tt.w); got != tt.json {
				t.Errorf("JSON = %v, want %v", got, tt.json)
			}
		})
	}
}

// markdownCell escapes text for a Markdown table cell.
var markdownCell = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;")

// configReferencePage is the page, from the repository's root, whose
// configuration table TestConfigReference checks against the flags.
const configReferencePage = "docs/configuration.md"

// configReference is the configuration table of configReferencePage, made
// from the flag set: every flag, its TOKENSERVICE_* variable, its default,
// which commands take it, and its usage text.
func configReference() string {
	cfg := defaultConfig()
	serve := flag.NewFlagSet("tokenservice", flag.ContinueOnError)
	cfg.serveFlags(serve)
	store := flag.NewFlagSet("tokenservice app", flag.ContinueOnError)
	cfg.storeFlags(store)
	var b strings.Builder
	b.WriteString("| Flag | Environment variable | Default | Commands | Meaning |\n|---|---|---|---|---|\n")
	serve.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" {
			def = "`" + f.DefValue + "`"
		}
		commands := "serve"
		if store.Lookup(f.Name) != nil {
			commands = "all"
		}
		b.WriteString("| `--" + f.Name + "` | `" + envName(f.Name) + "` | " + def + " | " + commands + " | " +
			markdownCell.Replace(f.Usage) + " |\n")
	})
	return b.String()
}

// referenceRow is a row of the configuration table.
type referenceRow struct{ env, def string }

// pageReference reads the configuration table's rows from a page: those
// whose first cell is a `--flag` and second a `TOKENSERVICE_*`.
func pageReference(page string) map[string]referenceRow {
	rows := map[string]referenceRow{}
	for _, line := range strings.Split(page, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
		if len(cells) < 5 {
			continue
		}
		flagName := strings.Trim(strings.TrimSpace(cells[1]), "`")
		env := strings.Trim(strings.TrimSpace(cells[2]), "`")
		if !strings.HasPrefix(env, "TOKENSERVICE_") {
			continue
		}
		rows[strings.TrimPrefix(flagName, "--")] = referenceRow{env: env, def: strings.Trim(strings.TrimSpace(cells[3]), "`")}
	}
	return rows
}

// referenceProblems lists what page's configuration table gets wrong
// about the flags: a flag missing, a wrong variable or default, a flag
// that does not exist.
func referenceProblems(page string) []string {
	rows := pageReference(page)
	if len(rows) == 0 {
		return []string{configReferencePage + " has no configuration table (| `--flag` | `TOKENSERVICE_FLAG` | default | … rows)"}
	}
	cfg := defaultConfig()
	fs := flag.NewFlagSet("tokenservice", flag.ContinueOnError)
	cfg.serveFlags(fs)
	var problems []string
	fs.VisitAll(func(f *flag.Flag) {
		row, ok := rows[f.Name]
		switch {
		case !ok:
			problems = append(problems, configReferencePage+"'s configuration table has no row for --"+f.Name)
		case row.env != envName(f.Name):
			problems = append(problems, fmt.Sprintf("%s: --%s is set by %s, not %s", configReferencePage, f.Name, envName(f.Name), row.env))
		case row.def != f.DefValue:
			problems = append(problems, fmt.Sprintf("%s: --%s defaults to %q, not %q", configReferencePage, f.Name, f.DefValue, row.def))
		}
		delete(rows, f.Name)
	})
	for name := range rows {
		problems = append(problems, configReferencePage+" lists --"+name+", which tokenservice does not have")
	}
	return problems
}

// TestConfigReference: configReferencePage lists every flag with its
// variable and default, and no flag that does not exist. With
// CONFIG_REFERENCE_OUT=file it writes the table to paste.
func TestConfigReference(t *testing.T) {
	table := configReference()
	if out := os.Getenv("CONFIG_REFERENCE_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	page, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(configReferencePage)))
	if err != nil {
		t.Fatal(err)
	}
	if problems := referenceProblems(string(page)); len(problems) > 0 {
		t.Errorf("%s\n\nThe table, from the flags (CONFIG_REFERENCE_OUT=file writes it):\n%s", strings.Join(problems, "\n"), table)
	}
}

// TestConfigReferenceCheck: the check passes the generated table and
// catches a missing row, a wrong default, a wrong variable and a flag that
// does not exist.
func TestConfigReferenceCheck(t *testing.T) {
	table := configReference()
	if problems := referenceProblems("# Configuration\n\n" + table); len(problems) > 0 {
		t.Fatalf("the generated table fails the check: %v", problems)
	}
	for _, tt := range []struct{ name, old, new, want string }{
		{"Missing", "| `--token-ttl` | `TOKENSERVICE_TOKEN_TTL` | `1h0m0s` |", "", "no row for --token-ttl"},
		{"WrongDefault", "| `--token-ttl` | `TOKENSERVICE_TOKEN_TTL` | `1h0m0s` |", "| `--token-ttl` | `TOKENSERVICE_TOKEN_TTL` | `2h` |", "--token-ttl defaults to"},
		{"WrongVariable", "| `--token-ttl` | `TOKENSERVICE_TOKEN_TTL` |", "| `--token-ttl` | `TOKENSERVICE_TTL` |", "--token-ttl is set by TOKENSERVICE_TOKEN_TTL"},
		{"Unknown", "| `--token-ttl` |", "| `--token-lifetime` |", "lists --token-lifetime"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			changed := strings.Replace(table, tt.old, tt.new, 1)
			if changed == table {
				t.Fatalf("the table has no %q", tt.old)
			}
			if problems := referenceProblems(changed); !strings.Contains(strings.Join(problems, "\n"), tt.want) {
				t.Errorf("problems %q, want one saying %q", problems, tt.want)
			}
		})
	}
}

// TestInsecurePermissionsOfOtherFiles: the database, its directory, the scopes file and the
// provider's users file are held to the same rule as the data directory and the server key.
func TestInsecurePermissionsOfOtherFiles(t *testing.T) {
	for _, tt := range []struct {
		name      string
		configure func(t *testing.T, m *Main) (path string)
	}{
		{"DatabaseFile", func(t *testing.T, m *Main) string {
			path := filepath.Join(m.Config.DataDir, "tokenservice.db")
			writeFileMode(t, path, "", 0o666)
			return path
		}},
		{"DatabaseOutsideTheDataDir", func(t *testing.T, m *Main) string {
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			m.Config.DatabaseURL = filepath.Join(dir, "elsewhere.db")
			return dir
		}},
		{"ScopesFile", func(t *testing.T, m *Main) string {
			m.Config.ScopesFile = filepath.Join(t.TempDir(), "scopes.json")
			writeFileMode(t, m.Config.ScopesFile, "{}", 0o646)
			return m.Config.ScopesFile
		}},
		{"UsersFile", func(t *testing.T, m *Main) string {
			m.Config.BCCUsersFile = filepath.Join(t.TempDir(), "users.json")
			writeFileMode(t, m.Config.BCCUsersFile, "{}", 0o664)
			return m.Config.BCCUsersFile
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMain()
			m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			m.Config.DataDir, m.Config.Addr, m.Config.BCCAddr = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
			path := tt.configure(t, m)
			err := m.Open(context.Background())
			if err == nil {
				m.Close()
				t.Fatal("started")
			}
			for _, want := range []string{path + " is writable by its group or others", "chmod go-w " + path} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q, want it to say %q", err, want)
				}
			}
		})
	}
}

func writeFileMode(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
