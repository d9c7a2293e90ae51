package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"tokenservice"
	"tokenservice/db"
	"tokenservice/scope"
	"tokenservice/secret"
)

const appUsage = `usage: tokenservice app <command> [flags]

commands:
  create --account ID --name NAME [--scope KEY=ACCESS]... [--json]
  list --account ID [--json]
  reset-secret --client-id ID [--json]
  delete --client-id ID

ACCESS is none, read or read-write; KEY as in the scope catalogue, e.g. forensics:account.
Without --scope, create grants read access to every scope of the catalogue.
The store flags (--data-dir, --database-url, --server-key, --reveal-window, --scopes-file,
--max-secret-lifetime) and their TOKENSERVICE_* variables are the server's.`

// appJSON is the --json shape of an application.
type appJSON struct {
	ClientID     string            `json:"client_id"`
	ClientSecret string            `json:"client_secret,omitempty"`
	Name         string            `json:"name"`
	AccountID    string            `json:"account_id"`
	Scopes       []string          `json:"scopes"`
	Access       map[string]string `json:"access"`
	CreatedAt    time.Time         `json:"created_at"`
	RevealUntil  *time.Time        `json:"secret_reveal_until,omitempty"`
}

func toJSON(a *tokenservice.Application, plaintext string) appJSON {
	out := appJSON{ClientID: a.ClientID, ClientSecret: plaintext, Name: a.Name, AccountID: a.AccountID,
		Scopes: a.OAuthScopes(), Access: map[string]string{}, CreatedAt: a.CreatedAt.UTC()}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	for _, g := range a.Scopes {
		out.Access[g.Key] = string(g.Access)
	}
	if !a.SecretRevealUntil.IsZero() && plaintext != "" {
		t := a.SecretRevealUntil.UTC()
		out.RevealUntil = &t
	}
	return out
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// runApp runs an operator command on the store. Errors go to stderr with a
// non-zero exit and change nothing.
func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, appUsage)
		if len(args) == 0 {
			return errors.New("app: missing command")
		}
		return nil
	}
	cmd, args := args[0], args[1:]
	cfg := defaultConfig()
	fs := newFlagSet("tokenservice app "+cmd, stderr)
	cfg.storeFlags(fs)
	var account, name, clientID string
	var scopes multiFlag
	var asJSON bool
	switch cmd {
	case "create":
		fs.StringVar(&account, "account", "", "account ID")
		fs.StringVar(&name, "name", "", "application name")
		fs.Var(&scopes, "scope", "KEY=ACCESS (repeatable)")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "list":
		fs.StringVar(&account, "account", "", "account ID")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "reset-secret":
		fs.StringVar(&clientID, "client-id", "", "Client ID")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "delete":
		fs.StringVar(&clientID, "client-id", "", "Client ID")
	default:
		fmt.Fprintln(stderr, appUsage)
		return fmt.Errorf("app: unknown command %q", cmd)
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("app %s: unexpected argument %q", cmd, fs.Arg(0))
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	warnPermissions(cfg, stderr)
	if (cmd == "create" || cmd == "list") && strings.TrimSpace(account) == "" {
		return fmt.Errorf("app %s: --account is required", cmd)
	}
	if (cmd == "reset-secret" || cmd == "delete") && !secret.ValidClientID(clientID) {
		return fmt.Errorf("app %s: --client-id %q is not a Client ID", cmd, clientID)
	}
	// The flags' shape is checked before touching the store; what they
	// ask for, by the operation, like the portal's forms.
	var catalogue *scope.Catalogue // only create checks scopes
	chosen := map[string]tokenservice.Access{}
	if cmd == "create" {
		var err error
		if catalogue, err = loadCatalogue(cfg); err != nil {
			return err
		}
		if len(scopes) == 0 {
			for _, e := range catalogue.Entries {
				chosen[e.Key] = tokenservice.AccessRead
			}
		}
		for _, s := range scopes {
			key, access, ok := strings.Cut(s, "=")
			if !ok {
				return fmt.Errorf("app create: --scope %q: use KEY=ACCESS, e.g. forensics:account=read-write", s)
			}
			chosen[key] = tokenservice.Access(access)
		}
	}
	serverKey, store, err := openExistingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := secret.NewKeys(serverKey)
	if err != nil {
		return err
	}
	ops := newApplications(cfg, store, catalogue, keys, time.Now)
	cli := tokenservice.CLIPrincipal

	switch cmd {
	case "create":
		app, plaintext, err := ops.CreateApplication(ctx, cli, tokenservice.CreateApplicationInput{AccountID: account,
			ApplicationInput: tokenservice.ApplicationInput{Name: name, Access: chosen}})
		if err != nil {
			return flagError(err)
		}
		return printApp(stdout, app, plaintext, asJSON)
	case "list":
		var all []appJSON
		opt := tokenservice.ListOptions{Limit: 200}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		if !asJSON {
			fmt.Fprintln(tw, "CLIENT ID\tNAME\tSCOPES\tCREATED")
		}
		for {
			page, err := store.ListApplications(ctx, account, opt)
			if err != nil {
				return err
			}
			for _, a := range page.Applications {
				if asJSON {
					all = append(all, toJSON(a, ""))
				} else {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.ClientID, a.Name, strings.Join(a.OAuthScopes(), " "), a.CreatedAt.UTC().Format(time.RFC3339))
				}
			}
			if page.Next == "" {
				break
			}
			opt.After = page.Next
		}
		if asJSON {
			if all == nil {
				all = []appJSON{}
			}
			return writeJSON(stdout, all)
		}
		return tw.Flush()
	case "reset-secret":
		app, plaintext, err := ops.ResetSecret(ctx, cli, tokenservice.ApplicationChange{ClientID: clientID})
		if err != nil {
			return err
		}
		return printApp(stdout, app, plaintext, asJSON)
	case "delete":
		if _, err := ops.DeleteApplication(ctx, cli, tokenservice.ApplicationChange{ClientID: clientID}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted %s\n", clientID)
	}
	return nil
}

// flagError names the flag of each field the operation refused: the name
// first, else every scope.
func flagError(err error) error {
	e, ok := errors.AsType[*tokenservice.Error](err)
	if !ok || e.Code != tokenservice.EINVALID || len(e.Fields) == 0 {
		return err
	}
	if msg, ok := e.Fields["name"]; ok {
		return fmt.Errorf("app create: --name: %s", msg)
	}
	var msgs []string
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		msgs = append(msgs, strings.TrimPrefix(k, "scope.")+": "+e.Fields[k])
	}
	return fmt.Errorf("app create: --scope: %s", strings.Join(msgs, "; "))
}

// openExistingStore opens the store of the server configured by cfg for an
// operator command, with its server key.
func openExistingStore(ctx context.Context, cfg Config) ([]byte, *db.DB, error) {
	// On PostgreSQL every replica and the CLI share one server key: never
	// generate one here.
	if db.IsPostgres(cfg.DatabaseURL) && cfg.ServerKey == "" {
		if _, err := os.Stat(serverKeyPath(cfg)); err != nil {
			return nil, nil, fmt.Errorf("no server key: pass the --server-key (or TOKENSERVICE_SERVER_KEY) the servers on %s use", db.Redacted(cfg.DatabaseURL))
		}
	}
	// The operator commands work on an existing store: a mistyped data
	// directory must not quietly create an empty one with a new server key.
	if _, err := os.Stat(cfg.DataDir); err != nil && (cfg.ServerKey == "" || !db.IsPostgres(cfg.DatabaseURL)) {
		return nil, nil, fmt.Errorf("data dir %s: %w (check --data-dir)", cfg.DataDir, err)
	}
	// A store made under another key (say, a server given --server-key) must
	// not get a freshly generated one: its secrets would stop verifying.
	if _, err := os.Stat(serverKeyPath(cfg)); cfg.ServerKey == "" && err != nil {
		if _, err := os.Stat(cfg.DatabaseURL); err == nil {
			return nil, nil, fmt.Errorf("no server key: %s exists but %s does not; pass the server's --server-key (or TOKENSERVICE_SERVER_KEY)",
				cfg.DatabaseURL, serverKeyPath(cfg))
		}
	}
	serverKey, err := loadServerKey(cfg)
	if err != nil {
		return nil, nil, err
	}
	store, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	return serverKey, store, nil
}

func printApp(w io.Writer, a *tokenservice.Application, plaintext string, asJSON bool) error {
	if asJSON {
		return writeJSON(w, toJSON(a, plaintext))
	}
	fmt.Fprintf(w, "Name:          %s\nAccount:       %s\nClient ID:     %s\nClient Secret: %s\nScopes:        %s\n",
		a.Name, a.AccountID, a.ClientID, plaintext, strings.Join(a.OAuthScopes(), " "))
	fmt.Fprintln(w, "Keep the Client Secret safe: it is not shown again (the portal shows it until the reveal window ends).")
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
