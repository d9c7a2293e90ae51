package main

import (
	"cmp"
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
  rotate-secret --client-id ID [--grace 24h] [--expires DATE|TIME] [--json]
  credentials --client-id ID [--json]
  revoke-credential --client-id ID --credential ID
  delete --client-id ID

ACCESS is none, read or read-write; KEY as in the scope catalogue, e.g. forensics:account.
Without --scope, create grants read access to every scope of the catalogue.

reset-secret replaces the secret at once: every secret of the application stops working,
and introspection answers inactive for every token issued before.
rotate-secret adds a new secret and keeps the current one working for --grace (default 24h,
at most 720h = 30 days; 0 revokes it at once); an application has at most two live secrets.
--expires is when the new secret expires: a date, 2027-06-30, meaning the end of that day
(it works all of 30 June, UTC), or an RFC 3339 time, 2027-06-30T12:00:00Z. Without it the secret never expires,
or lives as long as the account's maximum and --max-secret-lifetime allow.
credentials lists the application's credentials, revoked ones too, with their ids and states.
revoke-credential revokes one at once (introspection answers inactive for the tokens issued
under it), but never the last one that works: delete the application instead.

The store flags (--data-dir, --database-url, --server-key, --reveal-window, --scopes-file,
--max-secret-lifetime) and their TOKENSERVICE_* variables are the server's; a command's own
flags (--grace, --client-id, ...) are read from the command line only.`

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
	// The new secret's credential and expiry (create, reset-secret and
	// rotate-secret only); no expiry: never.
	CredentialID    string     `json:"credential_id,omitempty"`
	SecretExpiresAt *time.Time `json:"secret_expires_at,omitempty"`
	// OldSecretWorksUntil is when the secret that was live before a
	// rotate-secret stops working (the moment of the rotation with
	// --grace 0); absent when none was.
	OldSecretWorksUntil *time.Time `json:"old_secret_works_until,omitempty"`
}

// toJSON is the application a; with plaintext, the secret just made, whose
// credential is cred.
func toJSON(a *tokenservice.Application, plaintext string, cred *tokenservice.Credential) appJSON {
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
	if cred != nil && plaintext != "" {
		out.CredentialID, out.SecretExpiresAt = cred.ID, optionalTime(cred.ExpiresAt)
	}
	return out
}

// optionalTime is t in UTC, nil for the zero time.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// newestCredential is the credential made last: the one a create or a
// reset just made (Credentials are newest first).
func newestCredential(a *tokenservice.Application) *tokenservice.Credential {
	if len(a.Credentials) == 0 {
		return nil
	}
	return &a.Credentials[0]
}

// credentialJSON is the --json shape of a credential (app credentials).
type credentialJSON struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	Hint      string     `json:"hint"` // "" for a secret from before credentials, until its next use
	State     string     `json:"state"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// WorksUntil is the end of a rotation's grace period.
	WorksUntil   *time.Time `json:"works_until,omitempty"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	RevokedBy    string     `json:"revoked_by,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
	LeakedAt     *time.Time `json:"leaked_at,omitempty"`
	LastUsedAt   *time.Time `json:"last_used_at,omitempty"`
}

func toCredentialJSON(c *tokenservice.Credential, now time.Time) credentialJSON {
	return credentialJSON{ID: c.ID, Kind: string(c.Kind), Hint: c.Hint, State: string(c.State(now)),
		CreatedAt: c.CreatedAt.UTC(), CreatedBy: c.CreatedBy, ExpiresAt: optionalTime(c.ExpiresAt),
		WorksUntil: optionalTime(c.RevokeAt), RevokedAt: optionalTime(c.RevokedAt), RevokedBy: c.RevokedBy,
		RevokeReason: string(c.RevokeReason), LeakedAt: optionalTime(c.LeakedAt), LastUsedAt: optionalTime(c.LastUsedAt)}
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
	storeFlags := map[string]bool{} // the only flags the environment sets
	fs.VisitAll(func(f *flag.Flag) { storeFlags[f.Name] = true })
	var account, name, clientID, credentialID, expires string
	var scopes multiFlag
	var asJSON bool
	var grace time.Duration
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
	case "rotate-secret":
		fs.StringVar(&clientID, "client-id", "", "Client ID")
		fs.DurationVar(&grace, "grace", tokenservice.DefaultGracePeriod, "how long the current secret keeps working, at most 720h (30 days); 0 revokes it at once")
		fs.StringVar(&expires, "expires", "", "when the new secret expires: a date YYYY-MM-DD (it works until the end of that day, UTC) or an RFC 3339 time; "+
			"default: never, or the longest the account's maximum and --max-secret-lifetime allow")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "credentials":
		fs.StringVar(&clientID, "client-id", "", "Client ID")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "revoke-credential":
		fs.StringVar(&clientID, "client-id", "", "Client ID")
		fs.StringVar(&credentialID, "credential", "", "id of the credential to revoke, as app credentials lists it")
	case "delete":
		fs.StringVar(&clientID, "client-id", "", "Client ID")
	default:
		fmt.Fprintln(stderr, appUsage)
		return fmt.Errorf("app: unknown command %q", cmd)
	}
	if err := parseEnvFor(fs, args, storeFlags); err != nil {
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
	if cmd != "create" && cmd != "list" && !secret.ValidClientID(clientID) {
		return fmt.Errorf("app %s: --client-id %q is not a Client ID", cmd, clientID)
	}
	if cmd == "revoke-credential" && credentialID == "" {
		return fmt.Errorf("app %s: --credential is required: the id of a credential, as `tokenservice app credentials --client-id %s` lists them", cmd, clientID)
	}
	var expiresAt time.Time
	if expires != "" {
		var err error
		if expiresAt, err = parseExpiry(expires); err != nil {
			return fmt.Errorf("app %s: %w", cmd, err)
		}
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
			// The operator's scripts register what they mean, same names too.
			ApplicationInput: tokenservice.ApplicationInput{Name: name, Access: chosen, ConfirmedName: name}})
		if err != nil {
			return flagError(cmd, err)
		}
		return printApp(stdout, app, plaintext, newestCredential(app), asJSON)
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
					all = append(all, toJSON(a, "", nil))
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
		return printApp(stdout, app, plaintext, newestCredential(app), asJSON)
	case "rotate-secret":
		app, plaintext, credID, err := ops.RotateSecret(ctx, cli, tokenservice.RotateSecretInput{
			ClientID: clientID, Grace: grace, ExpiresAt: expiresAt})
		if err != nil {
			return rotateError(ctx, store, clientID, flagError(cmd, err))
		}
		return printRotation(stdout, app, plaintext, credID, asJSON)
	case "credentials":
		// A read, like list: straight from the store.
		app, _, err := store.ApplicationByClientID(ctx, clientID)
		if err != nil {
			return err
		}
		return printCredentials(stdout, app, time.Now(), asJSON)
	case "revoke-credential":
		app, err := ops.RevokeCredential(ctx, cli, tokenservice.RevokeCredentialInput{ClientID: clientID, CredentialID: credentialID})
		if err != nil {
			return revokeError(ctx, store, clientID, credentialID, err)
		}
		c := app.Credential(credentialID)
		name := c.ID
		if c.Hint != "" {
			name += " (" + c.Hint + ")"
		}
		fmt.Fprintf(stdout, "revoked credential %s of %s: it gets no more tokens, and introspection answers inactive for those issued under it\n",
			name, clientID)
	case "delete":
		if _, err := ops.DeleteApplication(ctx, cli, tokenservice.ApplicationChange{ClientID: clientID}); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted %s\n", clientID)
	}
	return nil
}

// flagError names the flag of each field the operation refused: the name
// first, else every scope, else the others (grace, expires), each named
// as its flag.
func flagError(cmd string, err error) error {
	e, ok := errors.AsType[*tokenservice.Error](err)
	if !ok || e.Code != tokenservice.EINVALID || len(e.Fields) == 0 {
		return err
	}
	if msg, ok := e.Fields["name"]; ok {
		return fmt.Errorf("app %s: --name: %s", cmd, msg)
	}
	var scopes, others []string
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		if key, ok := strings.CutPrefix(k, "scope."); ok {
			scopes = append(scopes, key+": "+e.Fields[k])
		} else {
			others = append(others, "--"+k+": "+e.Fields[k])
		}
	}
	if len(scopes) > 0 {
		return fmt.Errorf("app %s: --scope: %s", cmd, strings.Join(scopes, "; "))
	}
	return fmt.Errorf("app %s: %s", cmd, strings.Join(others, " "))
}

// parseExpiry reads --expires: a date, meaning the end of that day in
// UTC (as in the portal), or an RFC 3339 time.
func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24 * time.Hour), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--expires %q: use a date, 2027-06-30 (it works until the end of that day, UTC), or an RFC 3339 time, 2027-06-30T12:00:00Z", s)
}

// rotateError is what rotate-secret says when the operation refused: its
// message, with the CLI's commands when the application has as many live
// secrets as it may.
func rotateError(ctx context.Context, store *db.DB, clientID string, err error) error {
	if e, ok := errors.AsType[*tokenservice.Error](err); !ok || e.Code != tokenservice.EINVALID || len(e.Fields) > 0 {
		return err
	}
	// Which refusal it was, for the wording only: the operation decided.
	app, _, rerr := store.ApplicationByClientID(ctx, clientID)
	if rerr != nil || app.LiveCredentials(time.Now()) < tokenservice.MaxLiveSecrets {
		return err
	}
	return &tokenservice.Error{Code: tokenservice.EINVALID, Message: fmt.Sprintf(
		"%s\nSee them: tokenservice app credentials --client-id %s. "+
			"Revoke one: tokenservice app revoke-credential --client-id %s --credential ID",
		tokenservice.ErrorMessage(err), clientID, clientID)}
}

// revokeError is what revoke-credential says when the operation refused:
// its message, with the CLI's commands where it offers another way.
func revokeError(ctx context.Context, store *db.DB, clientID, credentialID string, err error) error {
	if tokenservice.ErrorCode(err) != tokenservice.EINVALID {
		return err
	}
	// Which refusal it was, for the wording only: the operation decided.
	app, _, rerr := store.ApplicationByClientID(ctx, clientID)
	if rerr != nil {
		return err
	}
	now := time.Now()
	if c := app.Credential(credentialID); c == nil || !c.Live(now) || app.LiveCredentials(now) != 1 {
		return err
	}
	return &tokenservice.Error{Code: tokenservice.EINVALID, Message: fmt.Sprintf(
		"%s\nTo replace it: tokenservice app rotate-secret --client-id %s (--grace 0 revokes this one at once). "+
			"To stop the application: tokenservice app delete --client-id %s",
		tokenservice.ErrorMessage(err), clientID, clientID)}
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

// printApp prints the application with the secret just made, plaintext,
// whose credential is cred.
func printApp(w io.Writer, a *tokenservice.Application, plaintext string, cred *tokenservice.Credential, asJSON bool) error {
	if asJSON {
		return writeJSON(w, toJSON(a, plaintext, cred))
	}
	printSecret(w, a, plaintext, cred)
	return nil
}

func printSecret(w io.Writer, a *tokenservice.Application, plaintext string, cred *tokenservice.Credential) {
	fmt.Fprintf(w, "Name:          %s\nAccount:       %s\nClient ID:     %s\nClient Secret: %s\n",
		a.Name, a.AccountID, a.ClientID, plaintext)
	if cred != nil {
		fmt.Fprintf(w, "Credential:    %s\nExpires:       %s\n", cred.ID, timeOr(cred.ExpiresAt, "never"))
	}
	fmt.Fprintf(w, "Scopes:        %s\n", strings.Join(a.OAuthScopes(), " "))
	fmt.Fprintln(w, "Keep the Client Secret safe: it is not shown again (the portal shows it until the reveal window ends).")
}

// printRotation prints what rotate-secret did: the new secret, as create
// prints it, and until when the previous one works.
func printRotation(w io.Writer, a *tokenservice.Application, plaintext, credID string, asJSON bool) error {
	cred := a.Credential(credID)
	old, until := rotatedSecret(a, cred)
	if asJSON {
		out := toJSON(a, plaintext, cred)
		if old != nil {
			out.OldSecretWorksUntil = optionalTime(until)
		}
		return writeJSON(w, out)
	}
	printSecret(w, a, plaintext, cred)
	switch {
	case old == nil:
		fmt.Fprintln(w, "No other secret was working: the new one is the application's only secret.")
	case !old.RevokedAt.IsZero():
		fmt.Fprintf(w, "The old secret%s (credential %s) was revoked at once: introspection answers inactive for the tokens issued under it.\n",
			hintSuffix(old), old.ID)
	default:
		fmt.Fprintf(w, "The old secret%s (credential %s) keeps working until %s; move the clients to the new one before then.\n",
			hintSuffix(old), old.ID, until.UTC().Format(time.RFC3339))
	}
	return nil
}

// rotatedSecret finds the secret that was live before the rotation that
// made cred, and when it stops working: revoked by the rotation itself
// (--grace 0), or at the end of its grace period or at its expiry,
// whichever comes first. The rotation happened at cred.CreatedAt, the
// moment the store wrote on both; nil when no other secret was live.
func rotatedSecret(a *tokenservice.Application, cred *tokenservice.Credential) (*tokenservice.Credential, time.Time) {
	if cred == nil {
		return nil, time.Time{}
	}
	at := cred.CreatedAt
	for i := range a.Credentials {
		c := &a.Credentials[i]
		switch {
		case c.ID == cred.ID || c.Expired(at):
		case c.RevokedAt.Equal(at):
			return c, c.RevokedAt
		case c.RevokedAt.IsZero() && c.RevokeAt.After(at):
			return c, c.End()
		}
	}
	return nil, time.Time{}
}

// printCredentials lists the application's credentials, newest first,
// with their state at now.
func printCredentials(w io.Writer, a *tokenservice.Application, now time.Time, asJSON bool) error {
	if asJSON {
		out := []credentialJSON{}
		for i := range a.Credentials {
			out = append(out, toCredentialJSON(&a.Credentials[i], now))
		}
		return writeJSON(w, out)
	}
	fmt.Fprintf(w, "%s (%s), account %s: %s, %d working\n\n",
		a.Name, a.ClientID, a.AccountID, plural(len(a.Credentials), "credential"), a.LiveCredentials(now))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tHINT\tSTATE\tCREATED\tCREATED BY\tEXPIRES\tWORKS UNTIL\tREVOKED\tREVOKED BY\tLEAKED\tLAST USED")
	for i := range a.Credentials {
		c := &a.Credentials[i]
		revokedBy := "-"
		if !c.RevokedAt.IsZero() {
			revokedBy = c.RevokedBy
			if c.RevokeReason != "" {
				revokedBy += " (" + c.RevokeReason.Label() + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			c.ID, c.Kind, cmp.Or(c.Hint, "-"), c.State(now), timeOr(c.CreatedAt, "-"), cmp.Or(c.CreatedBy, "-"),
			timeOr(c.ExpiresAt, "never"), timeOr(c.RevokeAt, "-"), timeOr(c.RevokedAt, "-"), revokedBy,
			timeOr(c.LeakedAt, "-"), timeOr(c.LastUsedAt, "never"))
	}
	return tw.Flush()
}

// plural is "1 credential", "2 credentials".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// timeOr is t as RFC 3339 in UTC, or none for the zero time.
func timeOr(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// hintSuffix is " tss_…a1b2" for a credential whose hint is known.
func hintSuffix(c *tokenservice.Credential) string {
	if c.Hint == "" {
		return ""
	}
	return " " + c.Hint
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
