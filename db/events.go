package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"tokenservice"
)

// eventDetails is the JSON of the details column.
type eventDetails struct {
	OldName     string         `json:"old_name,omitempty"`
	OldScopes   []eventGrant   `json:"old_scopes,omitempty"`
	Scopes      []eventGrant   `json:"scopes,omitempty"`
	Credential  string         `json:"credential,omitempty"`
	Kind        string         `json:"kind,omitempty"`
	ExpiresAt   int64          `json:"expires_at,omitempty"`
	RevokeAt    int64          `json:"revoke_at,omitempty"`
	Reason      string         `json:"reason,omitempty"`
	OldSettings *eventSettings `json:"old_settings,omitempty"`
	Settings    *eventSettings `json:"settings,omitempty"`
	Method      string         `json:"method,omitempty"`
	Path        string         `json:"path,omitempty"`
	Route       string         `json:"route,omitempty"`
	Refused     string         `json:"refused,omitempty"`
}

type eventSettings struct {
	MaxSecretLifetimeDays int64  `json:"max_secret_lifetime_days"`
	LeakAction            string `json:"leak_action"`
}

func toEventSettings(s *tokenservice.AccountSettings) *eventSettings {
	if s == nil {
		return nil
	}
	return &eventSettings{MaxSecretLifetimeDays: int64(s.MaxSecretLifetime / (24 * time.Hour)), LeakAction: string(s.LeakAction)}
}

func fromEventSettings(s *eventSettings) *tokenservice.AccountSettings {
	if s == nil {
		return nil
	}
	return &tokenservice.AccountSettings{MaxSecretLifetime: time.Duration(s.MaxSecretLifetimeDays) * 24 * time.Hour, LeakAction: tokenservice.LeakAction(s.LeakAction)}
}

// optionalMillis is millis for an optional time: 0 for the zero time.
func optionalMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return millis(t)
}

func fromOptionalMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}

type eventGrant struct {
	Key    string `json:"key"`
	Access string `json:"access"`
}

func toEventGrants(grants []tokenservice.ScopeGrant) []eventGrant {
	var out []eventGrant
	for _, g := range grants {
		out = append(out, eventGrant{Key: g.Key, Access: string(g.Access)})
	}
	return out
}

func fromEventGrants(grants []eventGrant) []tokenservice.ScopeGrant {
	var out []tokenservice.ScopeGrant
	for _, g := range grants {
		out = append(out, tokenservice.ScopeGrant{Key: g.Key, Access: tokenservice.Access(g.Access)})
	}
	return out
}

// recordEvent adds e to the trail inside the change's transaction, with the
// form key (or "") of the submission that made it.
func recordEvent(ctx context.Context, tx execer, e *tokenservice.Event, formKey string) error {
	details, err := json.Marshal(eventDetails{OldName: e.OldName, OldScopes: toEventGrants(e.OldScopes), Scopes: toEventGrants(e.Scopes),
		Credential: e.Credential, Kind: string(e.CredentialKind), ExpiresAt: optionalMillis(e.ExpiresAt), RevokeAt: optionalMillis(e.RevokeAt),
		Reason: string(e.Reason), OldSettings: toEventSettings(e.OldSettings), Settings: toEventSettings(e.Settings),
		Method: text(e.Method, 16), Path: text(e.Path, 255), Route: text(e.Route, 255), Refused: string(e.Refused)})
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	var key any
	if k := validFormKey(formKey); k != "" {
		key = k
	}
	at := millis(e.At)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO events (account_id, at, action, actor_subject, actor_email, address, user_agent,
			client_id, application_name, details, form_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.AccountID, at, string(e.Action), text(e.Actor.Subject, 255), text(e.Actor.Email, 255), text(e.Actor.Address, 64), text(e.Actor.UserAgent, 512),
		e.ClientID, e.ApplicationName, string(details), key); err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO event_actors (account_id, subject, email, last_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, subject) DO UPDATE SET email = excluded.email, last_at = excluded.last_at`,
		e.AccountID, text(e.Actor.Subject, 255), text(e.Actor.Email, 255), at); err != nil {
		return fmt.Errorf("record event: actor: %w", err)
	}
	return nil
}

// text is what the trail stores of a value from a request header or the
// identity provider: valid UTF-8 (PostgreSQL refuses anything else; a
// browser may send Latin-1 bytes in its User-Agent), at most n bytes.
func text(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// RecordEvent adds an event that goes with no other change: sign-in and
// sign-out.
func (db *DB) RecordEvent(ctx context.Context, e *tokenservice.Event) error {
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: %w", err)
	}
	defer tx.Rollback()
	if err := recordEvent(ctx, tx, e, ""); err != nil {
		return fmt.Errorf("db: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("db: record event: %w", err)
	}
	return nil
}

const eventColumns = `id, account_id, at, action, actor_subject, actor_email, address, user_agent,
	client_id, application_name, details`

// ListEvents returns a page of the account's audit trail, newest first.
// Paging is by keyset on the event id, through one of the account's indexes,
// so the newest page and a deep one cost the same with a million events.
func (db *DB) ListEvents(ctx context.Context, accountID string, f tokenservice.EventFilter) (*tokenservice.EventPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = tokenservice.DefaultEventLimit
	} else if limit > tokenservice.MaxEventLimit {
		limit = tokenservice.MaxEventLimit
	}
	newer := f.After > 0
	query, args := eventPageQuery(db.dialect, accountID, f, limit+1)
	rows, err := db.pool.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("db: list events: %w", err)
	}
	defer rows.Close()
	page := &tokenservice.EventPage{}
	more := false
	for rows.Next() {
		if len(page.Events) == limit {
			more = true
			break
		}
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("db: list events: %w", err)
		}
		page.Events = append(page.Events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: list events: %w", err)
	}
	if newer {
		for i, j := 0, len(page.Events)-1; i < j; i, j = i+1, j-1 {
			page.Events[i], page.Events[j] = page.Events[j], page.Events[i]
		}
	}
	if len(page.Events) == 0 {
		return page, nil
	}
	first, last := page.Events[0].ID, page.Events[len(page.Events)-1].ID
	if newer {
		page.Older = last
		if more {
			page.Newer = first
		}
	} else {
		if more {
			page.Older = last
		}
		if f.Before > 0 {
			page.Newer = first
		}
	}
	return page, nil
}

// eventPageQuery is the query of a page of the filter: up to limit events
// older than f.Before, newest first, or (with f.After) just newer than
// f.After, oldest first.
func eventPageQuery(d *dialect, accountID string, f tokenservice.EventFilter, limit int) (string, []any) {
	from, where, args := eventWhere(d, accountID, f)
	order := "DESC"
	if f.After > 0 {
		where += ` AND id > ?`
		args, order = append(args, f.After), "ASC"
	} else if f.Before > 0 {
		where += ` AND id < ?`
		args = append(args, f.Before)
	}
	return `SELECT ` + eventColumns + ` FROM ` + from + ` WHERE ` + where + ` ORDER BY id ` + order + limitTo(limit), args
}

// eventWhere is the table, with the index to read it by, and the condition of
// a filter. SQLite is told the index: with one account holding most events it
// would walk the table by id, fast for the newest page only.
func eventWhere(d *dialect, accountID string, f tokenservice.EventFilter) (from, where string, args []any) {
	switch {
	case f.ClientID != "":
		from = d.indexedBy("events", "events_account_client")
	case f.Actor != "":
		from = d.indexedBy("events", "events_account_actor")
	case f.Action != "":
		from = d.indexedBy("events", "events_account_action")
	default:
		from = d.indexedBy("events", "events_account")
	}
	where, args = `account_id = ?`, []any{accountID}
	if f.Action != "" {
		where += ` AND action = ?`
		args = append(args, string(f.Action))
	}
	if f.Actor != "" {
		where += ` AND actor_subject = ?`
		args = append(args, f.Actor)
	}
	if f.ClientID != "" {
		where += ` AND client_id = ?`
		args = append(args, f.ClientID)
	}
	// A time bound becomes an id bound on the index above: the id of the
	// first event at or after the moment, found through events_at. The
	// check of at (+ 0: not through events_at, every account's range, sorted)
	// keeps out any event whose clock lagged.
	first := `(SELECT id FROM ` + d.indexedBy("events", "events_at") + ` WHERE at >= ? ORDER BY at, id LIMIT 1)`
	if !f.From.IsZero() {
		where += ` AND id >= ` + first + ` AND at + 0 >= ?`
		args = append(args, millis(f.From), millis(f.From))
	}
	if !f.To.IsZero() {
		where += ` AND id < coalesce(` + first + `, ?) AND at + 0 < ?`
		args = append(args, millis(f.To), int64(math.MaxInt64), millis(f.To))
	}
	return from, where, args
}

func scanEvent(row interface{ Scan(...any) error }) (*tokenservice.Event, error) {
	var (
		e       tokenservice.Event
		at      int64
		action  string
		details string
	)
	if err := row.Scan(&e.ID, &e.AccountID, &at, &action, &e.Actor.Subject, &e.Actor.Email, &e.Actor.Address, &e.Actor.UserAgent,
		&e.ClientID, &e.ApplicationName, &details); err != nil {
		return nil, err
	}
	e.At, e.Action = fromMillis(at), tokenservice.Action(action)
	var d eventDetails
	if err := json.Unmarshal([]byte(details), &d); err != nil {
		return nil, fmt.Errorf("event %d: details: %w", e.ID, err)
	}
	e.OldName, e.OldScopes, e.Scopes = d.OldName, fromEventGrants(d.OldScopes), fromEventGrants(d.Scopes)
	e.Credential, e.CredentialKind, e.Reason = d.Credential, tokenservice.CredentialKind(d.Kind), tokenservice.RevokeReason(d.Reason)
	e.ExpiresAt, e.RevokeAt = fromOptionalMillis(d.ExpiresAt), fromOptionalMillis(d.RevokeAt)
	e.OldSettings, e.Settings = fromEventSettings(d.OldSettings), fromEventSettings(d.Settings)
	e.Method, e.Path, e.Route, e.Refused = d.Method, d.Path, d.Route, tokenservice.Refusal(d.Refused)
	return &e, nil
}

// EachEvent calls fn with every event of the filter, newest first, reading
// the trail a page at a time (no long transaction holds the database), and
// stops at fn's first error. Events added meanwhile are not included.
func (db *DB) EachEvent(ctx context.Context, accountID string, f tokenservice.EventFilter, fn func(*tokenservice.Event) error) error {
	f.After, f.Limit = 0, tokenservice.MaxEventLimit
	if f.Before == 0 {
		// Fix the end now, so an export is the trail as it was when it began.
		var maxID sql.NullInt64
		if err := db.pool.QueryRowContext(ctx, `SELECT max(id) FROM events`).Scan(&maxID); err != nil {
			return fmt.Errorf("db: each event: %w", err)
		}
		f.Before = maxID.Int64 + 1
	}
	for {
		page, err := db.ListEvents(ctx, accountID, f)
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			if err := fn(e); err != nil {
				return err
			}
		}
		if page.Older == 0 {
			return nil
		}
		f.Before = page.Older
	}
}

// EventActors returns the people in the account's trail, by e-mail.
func (db *DB) EventActors(ctx context.Context, accountID string) ([]tokenservice.EventActor, error) {
	rows, err := db.pool.QueryContext(ctx,
		`SELECT subject, email FROM event_actors WHERE account_id = ? ORDER BY email, subject LIMIT 1000`, accountID)
	if err != nil {
		return nil, fmt.Errorf("db: event actors: %w", err)
	}
	defer rows.Close()
	var out []tokenservice.EventActor
	for rows.Next() {
		var a tokenservice.EventActor
		if err := rows.Scan(&a.Subject, &a.Email); err != nil {
			return nil, fmt.Errorf("db: event actors: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db: event actors: %w", err)
	}
	return out, nil
}

// ApplicationNameInTrail returns the latest name the account's trail knows
// for a client ID (also of a deleted application), or ENOTFOUND.
func (db *DB) ApplicationNameInTrail(ctx context.Context, accountID, clientID string) (string, error) {
	var name string
	err := db.pool.QueryRowContext(ctx,
		`SELECT application_name FROM events WHERE account_id = ? AND client_id = ? ORDER BY id DESC LIMIT 1`,
		accountID, clientID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("db: application in trail: %w", errAppNotFound())
	} else if err != nil {
		return "", fmt.Errorf("db: application in trail: %w", err)
	}
	return name, nil
}

// eventAt builds the event of a change to app.
func eventAt(app *tokenservice.Application, action tokenservice.Action, actor tokenservice.Actor, now time.Time) *tokenservice.Event {
	return &tokenservice.Event{AccountID: app.AccountID, At: now, Action: action, Actor: actor,
		ClientID: app.ClientID, ApplicationName: app.Name}
}
