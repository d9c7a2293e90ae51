package main

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"tokenservice"
	"tokenservice/db"
	"tokenservice/scope"
	"tokenservice/secret"
)

// SeedOptions says what Seed puts into a store.
type SeedOptions struct {
	// DatabaseURL is the store: a SQLite file path or a postgres:// URL, as
	// the server's --database-url.
	DatabaseURL string
	// ServerKey is the store's server key (32 bytes): the secrets' hashes
	// are keyed with it, so the seeded credentials work on a server given it.
	ServerKey []byte
	Account   string // the account that owns everything; "acme" when empty
	Apps      int    // applications to add
	// Events is the number of audit events to add in all: one
	// "application.created" per application, the rest changes, secret
	// views and sign-ins spread over the year before Now. Fewer than Apps
	// counts as Apps.
	Events int
	Now    time.Time // the newest event's time; time.Now() when zero
	Seed   uint64    // of the pseudo-random choices; the secrets are random whatever it is
}

// Seed batches (one transaction each): applications with their scopes, and
// audit events. Large enough for a million rows to take seconds, small
// enough to stay under both databases' limit on statement parameters.
const (
	seedAppBatch   = 1000
	seedEventBatch = 10000
	seedEventRows  = 2000 // rows per INSERT statement of events
)

// Seed adds o.Apps applications and o.Events audit events to the store at
// o.DatabaseURL and returns the applications' credentials, in creation
// order. It is the suite's one bulk loader: the token benchmarks, the
// start-up measurement and the page benchmarks all fill their stores with
// it.
//
// The schema is the product's: db.Open applies the migrations first. The
// rows are then written with plain SQL, many per statement and one
// transaction per batch, as CreateApplication would write them (version 1,
// secret generation 1, the reveal window over, a created event per
// application) but thousands of times faster. Nothing else may write to
// the store meanwhile.
func Seed(ctx context.Context, o SeedOptions) ([]createdApp, error) {
	if o.Account == "" {
		o.Account = "acme"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Events = max(o.Events, o.Apps)
	keys, err := secret.NewKeys(o.ServerKey)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	store, err := db.Open(ctx, o.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if err := store.Close(); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	postgres := db.IsPostgres(o.DatabaseURL)
	var sqldb *sql.DB
	if postgres {
		sqldb, err = sql.Open("pgx", o.DatabaseURL)
	} else {
		sqldb, err = sql.Open("sqlite", o.DatabaseURL+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_pragma=cache_size(-262144)&_txlock=immediate")
	}
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	defer sqldb.Close()
	sqldb.SetMaxOpenConns(1)

	plan := newSeedPlan(o)
	s := &seeder{db: sqldb, postgres: postgres}
	apps := make([]createdApp, 0, o.Apps)
	for start := 0; start < len(plan.apps); start += seedAppBatch {
		batch := plan.apps[start:min(start+seedAppBatch, len(plan.apps))]
		for i := range batch {
			batch[i].secret = secret.New()
			batch[i].hash = keys.Hash(batch[i].secret)
		}
		if err := s.insertApps(ctx, o.Account, batch); err != nil {
			return nil, fmt.Errorf("seed: applications: %w", err)
		}
		for _, a := range batch {
			apps = append(apps, createdApp{ClientID: a.clientID, ClientSecret: a.secret, AccountID: o.Account,
				Scopes: tokenservice.OAuthScopes(a.grants)})
		}
	}
	for start := 0; start < len(plan.events); start += seedEventBatch {
		if err := s.insertEvents(ctx, plan.events[start:min(start+seedEventBatch, len(plan.events))]); err != nil {
			return nil, fmt.Errorf("seed: events: %w", err)
		}
	}
	if err := s.insertActors(ctx, o.Account, plan.actors); err != nil {
		return nil, fmt.Errorf("seed: event actors: %w", err)
	}
	if postgres {
		// As after any bulk load: without statistics PostgreSQL's planner
		// takes the account's 100,000 rows for a handful, and until
		// autovacuum gets to the tables (seconds to a minute later) the
		// list page takes 25-40 ms instead of 3. Vacuumed, the tables'
		// pages are marked all-visible, so that index-only scans need not
		// visit them, and autovacuum has nothing left to do in the middle
		// of a measurement. A service that grew row by row has both all
		// along.
		if _, err := sqldb.ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
			return nil, fmt.Errorf("seed: vacuum: %w", err)
		}
	}
	return apps, nil
}

// seedApp is an application Seed adds.
type seedApp struct {
	clientID, name string
	grants         []tokenservice.ScopeGrant
	createdAt      int64 // unix milliseconds
	createdBy      string
	lastUsedAt     int64 // unix milliseconds; 0: never
	secret         string
	hash           []byte
}

// seedEvent is a row of events.
type seedEvent struct {
	accountID, action                      string
	at                                     int64
	actor                                  tokenservice.Actor
	clientID, applicationName, detailsJSON string
}

// seedActor is a person of the trail, with their last event.
type seedActor struct {
	actor  tokenservice.Actor
	lastAt int64
}

// seedPlan is everything Seed writes, decided before it writes.
type seedPlan struct {
	apps   []seedApp
	events []seedEvent
	actors []*seedActor
}

// Realistic material: the applications customers register (integrations
// of a security suite) and the people who manage them.
var (
	seedPurposes = []string{"SIEM export", "Ticketing sync", "Incident bot", "Archive search", "Quarantine review",
		"Phishing triage", "Reporting dashboard", "Compliance audit", "Mailbox scanner", "Threat intel feed",
		"SOAR playbook", "Data lake loader", "Helpdesk integration", "Backup verifier", "Nightly report"}
	seedOwners = []string{"Security Operations", "IT", "Compliance", "Platform", "Data", "Helpdesk", "Legal",
		"Finance", "EMEA SOC", "APAC SOC"}
	seedEnvs    = []string{"prod", "staging", "dev", "test", "EU", "US"}
	seedPeople  = []string{"alex.morgan", "sam.patel", "jordan.lee", "casey.nguyen", "riley.schmidt", "taylor.kim", "morgan.fischer", "jamie.rossi", "drew.okafor", "kai.andersen", "noa.cohen", "lee.martin"}
	seedBrowser = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	}
)

// newSeedPlan lays the events out over the year before o.Now, oldest
// first (event ids grow with time), each application's creation among
// them, and the other events on applications created before them.
func newSeedPlan(o SeedOptions) *seedPlan {
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	catalogue := scope.Default().Entries
	p := &seedPlan{apps: make([]seedApp, o.Apps), events: make([]seedEvent, o.Events)}
	for i, name := range seedPeople {
		p.actors = append(p.actors, &seedActor{actor: tokenservice.Actor{
			Subject: "bcc|" + strconv.Itoa(1000+i), Email: name + "@" + o.Account + ".example",
			Address: fmt.Sprintf("203.0.113.%d", 10+i), UserAgent: seedBrowser[i%len(seedBrowser)],
		}})
	}
	end := o.Now.UnixMilli()
	span := int64(365 * 24 * time.Hour / time.Millisecond)
	step := max(span/int64(max(o.Events, 1)), 1)
	created := 0
	for k := range p.events {
		at := end - int64(len(p.events)-k)*step
		who := p.actors[rng.IntN(len(p.actors))]
		who.lastAt = at
		e := seedEvent{accountID: o.Account, at: at, actor: who.actor}
		// The k-th event creates the next application when its turn has
		// come, so that creations spread evenly over the year.
		if created < o.Apps && (created == 0 || int64(created)*int64(o.Events) <= int64(k)*int64(o.Apps)) {
			a := &p.apps[created]
			a.clientID = secret.NewClientID()
			a.name, _ = tokenservice.CleanName(fmt.Sprintf("%s – %s (%s) %d",
				seedPurposes[rng.IntN(len(seedPurposes))], seedOwners[rng.IntN(len(seedOwners))],
				seedEnvs[rng.IntN(len(seedEnvs))], created+1))
			a.grants = seedGrants(rng, catalogue)
			a.createdAt, a.createdBy = at, who.actor.Name()
			if rng.IntN(3) > 0 {
				// Two in three got a token in the last 30 days, as the sweeper writes it.
				a.lastUsedAt = max(end-rng.Int64N(30*24*3_600_000), at)
			}
			e.action, e.clientID, e.applicationName = string(tokenservice.ActionCreated), a.clientID, a.name
			e.detailsJSON = seedDetails(map[string]any{"scopes": eventGrants(a.grants)})
			created++
			p.events[k] = e
			continue
		}
		a := p.apps[rng.IntN(created)]
		e.clientID, e.applicationName, e.detailsJSON = a.clientID, a.name, "{}"
		switch n := rng.IntN(100); {
		case n < 12:
			e.action = string(tokenservice.ActionRenamed)
			e.detailsJSON = seedDetails(map[string]any{"old_name": a.name + " (old)"})
		case n < 27:
			e.action = string(tokenservice.ActionScopesChanged)
			e.detailsJSON = seedDetails(map[string]any{"old_scopes": eventGrants(seedGrants(rng, catalogue)), "scopes": eventGrants(a.grants)})
		case n < 37:
			e.action = string(tokenservice.ActionSecretReset)
		case n < 52:
			e.action = string(tokenservice.ActionSecretRevealed)
		case n < 62:
			e.action = string(tokenservice.ActionSecretCopied)
		case n < 87:
			e.action, e.clientID, e.applicationName = string(tokenservice.ActionSignedIn), "", ""
		default:
			e.action, e.clientID, e.applicationName = string(tokenservice.ActionSignedOut), "", ""
		}
		p.events[k] = e
	}
	p.actors = slices.DeleteFunc(p.actors, func(a *seedActor) bool { return a.lastAt == 0 })
	return p
}

// seedGrants picks one to all of the catalogue's scopes, each with an
// access it offers, in key order as the store keeps them.
func seedGrants(rng *rand.Rand, catalogue []scope.Entry) []tokenservice.ScopeGrant {
	picked := rng.Perm(len(catalogue))[:1+rng.IntN(len(catalogue))]
	slices.Sort(picked)
	grants := make([]tokenservice.ScopeGrant, 0, len(picked))
	for _, i := range picked {
		e := catalogue[i]
		grants = append(grants, tokenservice.ScopeGrant{Key: e.Key, Access: tokenservice.Access(e.Access[rng.IntN(len(e.Access))])})
	}
	slices.SortFunc(grants, func(a, b tokenservice.ScopeGrant) int { return strings.Compare(a.Key, b.Key) })
	return grants
}

// eventGrants is the details JSON's shape of grants (db.eventGrant).
func eventGrants(grants []tokenservice.ScopeGrant) []map[string]string {
	out := make([]map[string]string, len(grants))
	for i, g := range grants {
		out[i] = map[string]string{"key": g.Key, "access": string(g.Access)}
	}
	return out
}

func seedDetails(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// seeder writes a plan through one connection.
type seeder struct {
	db       *sql.DB
	postgres bool
}

// values returns the VALUES list of rows rows of cols placeholders each,
// and then literal: "(?, ?), (?, ?)" on SQLite, "($1, $2), ($3, $4)" on
// PostgreSQL.
func (s *seeder) values(rows, cols int, literal ...string) string {
	var b strings.Builder
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			if s.postgres {
				b.WriteString("$" + strconv.Itoa(n))
			} else {
				b.WriteByte('?')
			}
		}
		for _, l := range literal {
			b.WriteString(l)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// seededCredential is the id of the seeded secret the load presents: the
// newer of each application's two.
const seededCredential = "0000000002"

// insertApps adds a batch of applications and their scopes in one
// transaction.
func (s *seeder) insertApps(ctx context.Context, account string, apps []seedApp) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	args := make([]any, 0, len(apps)*10)
	for _, a := range apps {
		var lastUsed any
		if a.lastUsedAt != 0 {
			lastUsed = a.lastUsedAt
		}
		args = append(args, account, a.clientID, a.name, strings.ToLower(a.name), db.NameSortKey(a.name),
			a.createdAt, a.createdBy, a.createdAt, a.createdBy, lastUsed)
	}
	rows, err := tx.QueryContext(ctx, `
		INSERT INTO applications (account_id, client_id, name, name_lower, name_key,
			created_at, created_by, updated_at, updated_by, last_used_at, secret_generation, version)
		VALUES `+s.values(len(apps), 10, ", 1, 1")+`
		RETURNING id, client_id`, args...)
	if err != nil {
		return err
	}
	ids := make(map[string]int64, len(apps))
	for rows.Next() {
		var id int64
		var clientID string
		if err := rows.Scan(&id, &clientID); err != nil {
			rows.Close()
			return err
		}
		ids[clientID] = id
	}
	if err := rows.Close(); err != nil {
		return err
	}
	// Two live secrets each, as during a rotation: the token endpoint
	// checks a secret against both. The older one's hash matches nothing.
	args = args[:0]
	older := make([]byte, len(apps[0].hash))
	for _, a := range apps {
		args = append(args, ids[a.clientID], "0000000001", older, a.createdAt, a.createdBy,
			ids[a.clientID], seededCredential, a.hash, a.createdAt, a.createdBy)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO credentials (application_id, public_id, secret_hash, created_at, created_by, kind, hint, migrated, rotated)
		VALUES `+s.values(2*len(apps), 5, ", 'client_secret', '', 0, 0"), args...); err != nil {
		return err
	}
	args = args[:0]
	n := 0
	for _, a := range apps {
		id, ok := ids[a.clientID]
		if !ok {
			return fmt.Errorf("no id returned for %s", a.clientID)
		}
		for _, g := range a.grants {
			args = append(args, id, g.Key, string(g.Access))
			n++
		}
	}
	if n > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO application_scopes (application_id, scope_key, access) VALUES `+
			s.values(n, 3), args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// insertEvents adds a batch of events in one transaction.
func (s *seeder) insertEvents(ctx context.Context, events []seedEvent) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for start := 0; start < len(events); start += seedEventRows {
		chunk := events[start:min(start+seedEventRows, len(events))]
		args := make([]any, 0, len(chunk)*10)
		for _, e := range chunk {
			args = append(args, e.accountID, e.at, e.action, e.actor.Subject, e.actor.Email, e.actor.Address,
				e.actor.UserAgent, e.clientID, e.applicationName, e.detailsJSON)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO events (account_id, at, action, actor_subject, actor_email, address, user_agent,
				client_id, application_name, details)
			VALUES `+s.values(len(chunk), 10), args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// insertActors records who appears in the trail (the person filter).
func (s *seeder) insertActors(ctx context.Context, account string, actors []*seedActor) error {
	if len(actors) == 0 {
		return nil
	}
	var args []any
	for _, a := range actors {
		args = append(args, account, a.actor.Subject, a.actor.Email, a.lastAt)
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO event_actors (account_id, subject, email, last_at) VALUES `+s.values(len(actors), 4)+`
		ON CONFLICT (account_id, subject) DO UPDATE SET email = excluded.email, last_at = excluded.last_at`, args...)
	return err
}

// runSeed is "loadgen seed": fill a store, made if need be, for a server
// to be started on it.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loadgen seed", stderr)
	var (
		o           SeedOptions
		dataDir     string
		serverKey   string
		credentials string
	)
	fs.StringVar(&dataDir, "data-dir", "", "the server's --data-dir: holds server.key (generated when missing) and, without --database-url, tokenservice.db")
	fs.StringVar(&o.DatabaseURL, "database-url", "", "the server's --database-url (default <data-dir>/tokenservice.db)")
	fs.StringVar(&serverKey, "server-key", "", "the server's --server-key (64 hex characters; default <data-dir>/server.key)")
	fs.StringVar(&o.Account, "account", "acme", "the account that owns the applications and events")
	fs.IntVar(&o.Apps, "apps", 100_000, "applications to add")
	fs.IntVar(&o.Events, "events", 1_000_000, "audit events to add in all (at least one per application: its creation)")
	fs.StringVar(&credentials, "credentials", "", "write the applications' credentials to this file, one JSON object a line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.Apps < 0 || o.Events < 0 {
		return errors.New("seed: --apps and --events must not be negative")
	}
	if dataDir == "" && (o.DatabaseURL == "" || serverKey == "") {
		return errors.New("seed: --data-dir is required, or both --database-url and --server-key")
	}
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return err
		}
		if o.DatabaseURL == "" {
			o.DatabaseURL = filepath.Join(dataDir, "tokenservice.db")
		}
	}
	var err error
	if serverKey != "" {
		o.ServerKey, err = hex.DecodeString(strings.TrimSpace(serverKey))
	} else {
		o.ServerKey, err = dataDirServerKey(dataDir)
	}
	if err != nil || len(o.ServerKey) != secret.KeySize {
		return fmt.Errorf("seed: server key: want 64 hex characters (%v)", err)
	}
	start := time.Now()
	apps, err := Seed(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %s with %d applications and %d audit events of account %q in %s\n",
		db.Redacted(o.DatabaseURL), o.Apps, max(o.Events, o.Apps), o.Account, time.Since(start).Round(time.Millisecond))
	if credentials != "" {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		for _, a := range apps {
			enc.Encode(a)
		}
		if err := os.WriteFile(credentials, []byte(b.String()), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// dataDirServerKey reads dir/server.key, writing a new one first when there
// is none, as the server does on its first start.
func dataDirServerKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, "server.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k := make([]byte, secret.KeySize)
		crand.Read(k)
		return k, os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600)
	} else if err != nil {
		return nil, err
	}
	return hex.DecodeString(strings.TrimSpace(string(b)))
}
