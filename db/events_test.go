package db

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"tokenservice"
)

// actions returns the actions of the account's trail, oldest first.
func actions(tb testing.TB, db *DB, account string) []tokenservice.Action {
	tb.Helper()
	var out []tokenservice.Action
	err := db.EachEvent(context.Background(), account, tokenservice.EventFilter{}, func(e *tokenservice.Event) error {
		out = append([]tokenservice.Action{e.Action}, out...)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestEventsOfEveryChange(t *testing.T) { forEachStore(t, testEventsOfEveryChange) }

func testEventsOfEveryChange(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	alice, bob := testActor("alice@acme.example"), testActor("bob@acme.example")

	app, err := db.CreateApplication(ctx, tokenservice.NewApplication{AccountID: "acme", ClientID: "client-1", Name: "Billing",
		Scopes: []tokenservice.ScopeGrant{readEmail}, Secret: testSecret("1"), Actor: alice, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	app, err = db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: app.Version,
		Name: "Billing sync", Scopes: []tokenservice.ScopeGrant{readEmail, rwIncident}, Actor: bob, Now: now.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: app.Version,
		Name: "Billing sync", Scopes: []tokenservice.ScopeGrant{rwIncident}, Actor: bob, Now: now.Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SecretCiphertext(ctx, "acme", "client-1", tokenservice.ActionSecretRevealed, alice, now.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SecretCiphertext(ctx, "acme", "client-1", tokenservice.ActionSecretCopied, alice, now.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: "client-1", AnyVersion: true, Secret: testSecret("2"), Actor: bob, Now: now.Add(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ResetSecret(ctx, tokenservice.SecretReset{ClientID: "client-1", AnyVersion: true, Secret: testSecret("3"), Actor: tokenservice.CLIActor, Now: now.Add(6 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "client-1", AnyVersion: true, Actor: alice, Now: now.Add(7 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordEvent(ctx, &tokenservice.Event{AccountID: "acme", At: now.Add(8 * time.Second), Action: tokenservice.ActionSignedOut, Actor: alice}); err != nil {
		t.Fatal(err)
	}

	page, err := db.ListEvents(ctx, "acme", tokenservice.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ev := page.Events
	want := []tokenservice.Action{
		tokenservice.ActionSignedOut, tokenservice.ActionDeleted, tokenservice.ActionSecretReset, tokenservice.ActionSecretReset,
		tokenservice.ActionSecretCopied, tokenservice.ActionSecretRevealed, tokenservice.ActionScopesChanged,
		tokenservice.ActionScopesChanged, tokenservice.ActionRenamed, tokenservice.ActionCreated,
	}
	var got []tokenservice.Action
	for _, e := range ev {
		got = append(got, e.Action)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("actions (newest first) = %v\nwant %v", got, want)
	}
	created, renamed, scoped := ev[9], ev[8], ev[7]
	if created.Actor != alice || created.ApplicationName != "Billing" || !reflect.DeepEqual(created.Scopes, []tokenservice.ScopeGrant{readEmail}) || !created.At.Equal(now) {
		t.Errorf("created = %+v", created)
	}
	if renamed.OldName != "Billing" || renamed.ApplicationName != "Billing sync" || renamed.Actor != bob {
		t.Errorf("renamed = %+v", renamed)
	}
	if !reflect.DeepEqual(scoped.OldScopes, []tokenservice.ScopeGrant{readEmail}) || !reflect.DeepEqual(scoped.Scopes, []tokenservice.ScopeGrant{readEmail, rwIncident}) {
		t.Errorf("scopes changed: %v → %v", scoped.OldScopes, scoped.Scopes)
	}
	if cli := ev[2]; cli.Actor != tokenservice.CLIActor || cli.AccountID != "acme" || cli.ClientID != "client-1" {
		t.Errorf("the CLI's reset = %+v", cli)
	}
	if del := ev[1]; del.ApplicationName != "Billing sync" || del.ClientID != "client-1" {
		t.Errorf("deleted = %+v", del)
	}
	if name, err := db.ApplicationNameInTrail(ctx, "acme", "client-1"); err != nil || name != "Billing sync" {
		t.Errorf("name in trail = %q, %v", name, err)
	}
	_, err = db.ApplicationNameInTrail(ctx, "globex", "client-1")
	wantCode(t, err, tokenservice.ENOTFOUND)

	// Never a secret: no hash, ciphertext or label of one in the trail.
	rows, err := db.pool.QueryContext(ctx, `SELECT * FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := fmt.Sprint(vals...)
		for _, s := range []string{"hash:", "ciphertext:"} {
			if strings.Contains(row, s) {
				t.Errorf("an event holds %q: %s", s, row)
			}
		}
	}
}

func TestEventsOnlyWithTheirChange(t *testing.T) { forEachStore(t, testEventsOnlyWithTheirChange) }

func testEventsOnlyWithTheirChange(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	app := mustCreate(t, db, "acme", "client-1", "Billing", readEmail)
	before := countRows(t, db, `SELECT count(*) FROM events`)

	// Refused changes record nothing.
	_, err := db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: app.Version + 1, Name: "Stale", Actor: testActor("b@acme.example"), Now: now})
	wantCode(t, err, tokenservice.ECONFLICT)
	_, err = db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "globex", ClientID: "client-1", Version: app.Version, Secret: testSecret("x"), Actor: testActor("m@globex.example"), Now: now})
	wantCode(t, err, tokenservice.ENOTFOUND)
	wantCode(t, db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "client-1", Version: 7, Actor: testActor("b@acme.example"), Now: now}), tokenservice.ECONFLICT)
	// Saving what is already there is no change.
	same, err := db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: app.Version, Name: "Billing", Scopes: []tokenservice.ScopeGrant{readEmail, noReports}, Actor: testActor("b@acme.example"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if same.Version != app.Version {
		t.Errorf("saving without a change moved the version %d → %d", app.Version, same.Version)
	}
	if got := countRows(t, db, `SELECT count(*) FROM events`); got != before {
		t.Errorf("events = %d after refused changes, want %d", got, before)
	}

	// A change whose event cannot be written is not made: one transaction.
	refuseEvents, allowEvents := `CREATE TRIGGER no_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'events refused'); END`, `DROP TRIGGER no_events`
	if storeKind(t) == onPostgres {
		refuseEvents = `CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'events refused'; END $$;
			CREATE TRIGGER no_events BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_events()`
		allowEvents = `DROP TRIGGER no_events ON events`
	}
	if _, err := db.pool.DB.ExecContext(ctx, refuseEvents); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"Create", func() error {
			_, err := db.CreateApplication(ctx, tokenservice.NewApplication{AccountID: "acme", ClientID: "client-2", Name: "Second", Secret: testSecret("2"), Actor: testActor("b@acme.example"), Now: now})
			return err
		}},
		{"Update", func() error {
			_, err := db.UpdateApplication(ctx, tokenservice.ApplicationUpdate{AccountID: "acme", ClientID: "client-1", Version: app.Version, Name: "Renamed", Scopes: []tokenservice.ScopeGrant{rwIncident}, Actor: testActor("b@acme.example"), Now: now})
			return err
		}},
		{"Reset", func() error {
			_, err := db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: "client-1", Version: app.Version, Secret: testSecret("new"), Actor: testActor("b@acme.example"), Now: now})
			return err
		}},
		{"Reveal", func() error {
			_, _, err := db.SecretCiphertext(ctx, "acme", "client-1", tokenservice.ActionSecretRevealed, testActor("b@acme.example"), now)
			return err
		}},
		{"Delete", func() error {
			return db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "client-1", Version: app.Version, Actor: testActor("b@acme.example"), Now: now})
		}},
	}
	for _, s := range steps {
		if err := s.do(); err == nil || !strings.Contains(err.Error(), "events refused") {
			t.Errorf("%s without its event: err = %v, want the event's failure", s.name, err)
		}
	}
	got, err := db.GetApplication(ctx, "acme", "client-1")
	if err != nil {
		t.Fatalf("the application is gone: %v", err)
	}
	if !reflect.DeepEqual(got, app) {
		t.Errorf("the application changed without its events:\n got %+v\nwant %+v", got, app)
	}
	if n := countRows(t, db, `SELECT count(*) FROM applications WHERE client_id = 'client-2'`); n != 0 {
		t.Error("an application was created without its event")
	}

	// A reveal after the window shows nothing and records nothing.
	if _, err := db.pool.ExecContext(ctx, allowEvents); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.SecretCiphertext(ctx, "acme", "client-1", tokenservice.ActionSecretRevealed, testActor("b@acme.example"), now.Add(time.Hour))
	wantCode(t, err, tokenservice.EGONE)
	if got := countRows(t, db, `SELECT count(*) FROM events`); got != before {
		t.Errorf("events = %d after a refused reveal, want %d", got, before)
	}
}

func TestListEvents(t *testing.T) { forEachStore(t, testListEvents) }

func testListEvents(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	seedEvents(t, db, "acme", 230)
	seedEvents(t, db, "globex", 20)

	t.Run("PagesOlderAndNewer", func(t *testing.T) {
		var ids []int64
		f := tokenservice.EventFilter{Limit: 50}
		pages := 0
		for {
			page, err := db.ListEvents(ctx, "acme", f)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, e := range page.Events {
				if e.AccountID != "acme" {
					t.Fatalf("another account's event: %+v", e)
				}
				ids = append(ids, e.ID)
			}
			if pages > 1 && page.Newer == 0 {
				t.Errorf("page %d has no link to newer events", pages)
			}
			if page.Older == 0 {
				break
			}
			f.Before = page.Older
		}
		if len(ids) != 230 || pages != 5 {
			t.Fatalf("read %d events in %d pages, want 230 in 5", len(ids), pages)
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] >= ids[i-1] {
				t.Fatalf("not newest first at %d: %d then %d", i, ids[i-1], ids[i])
			}
		}
		// Back from the oldest page: the page just newer than it.
		page, err := db.ListEvents(ctx, "acme", tokenservice.EventFilter{Limit: 50, After: ids[150]})
		if err != nil {
			t.Fatal(err)
		}
		if got := page.Events[0].ID; got != ids[100] || page.Events[49].ID != ids[149] {
			t.Errorf("newer page = %d…%d, want %d…%d", got, page.Events[49].ID, ids[100], ids[149])
		}
		if page.Newer != ids[100] || page.Older != ids[149] {
			t.Errorf("newer page links = %d/%d, want %d/%d", page.Newer, page.Older, ids[100], ids[149])
		}
		page, err = db.ListEvents(ctx, "acme", tokenservice.EventFilter{Limit: 50, After: ids[20]})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != 20 || page.Newer != 0 {
			t.Errorf("the newest events: %d, Newer %d; want 20 and none", len(page.Events), page.Newer)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		for _, f := range []tokenservice.EventFilter{
			{Action: tokenservice.ActionSecretReset},
			{Actor: "sub-user1@acme.example"},
			{ClientID: "acme-3"},
			{Action: tokenservice.ActionRenamed, Actor: "sub-user2@acme.example", ClientID: "acme-2"},
		} {
			var n int
			err := db.EachEvent(ctx, "acme", f, func(e *tokenservice.Event) error {
				n++
				if f.Action != "" && e.Action != f.Action || f.Actor != "" && e.Actor.Subject != f.Actor || f.ClientID != "" && e.ClientID != f.ClientID {
					t.Errorf("filter %+v gave %+v", f, e)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Errorf("filter %+v matched nothing", f)
			}
		}
		page, err := db.ListEvents(ctx, "globex", tokenservice.EventFilter{Actor: "sub-user1@acme.example"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != 0 {
			t.Errorf("globex's trail shows acme's people")
		}
	})

	t.Run("Actors", func(t *testing.T) {
		got, err := db.EventActors(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Email != "user0@acme.example" || got[0].Subject != "sub-user0@acme.example" {
			t.Errorf("actors = %+v", got)
		}
	})

	t.Run("ExportIsASnapshot", func(t *testing.T) {
		n := 0
		err := db.EachEvent(ctx, "acme", tokenservice.EventFilter{}, func(e *tokenservice.Event) error {
			n++
			if n == 1 {
				seedEvents(t, db, "acme", 5) // added during the export: not in it
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 230 {
			t.Errorf("exported %d events, want the 230 there were when it began", n)
		}
		stop := errors.New("stop")
		if err := db.EachEvent(ctx, "acme", tokenservice.EventFilter{}, func(*tokenservice.Event) error { return stop }); err != stop {
			t.Errorf("EachEvent = %v, want fn's error", err)
		}
	})

	// After ExportIsASnapshot, whose five events have the newest ids but
	// times of the oldest: a clock that lagged. They stay out of a range
	// after their time although their ids are in it, and out of one that
	// ends before them: they were recorded after its end.
	t.Run("TimeRange", func(t *testing.T) {
		from, to := now.Add(100*time.Second), now.Add(150*time.Second)
		for _, tc := range []struct {
			name string
			f    tokenservice.EventFilter
			want int
		}{
			{"FromAndTo", tokenservice.EventFilter{From: from, To: to}, 50},
			{"FromOnly", tokenservice.EventFilter{From: from}, 130},
			{"ToOnly", tokenservice.EventFilter{To: to}, 150},
			{"WithApplication", tokenservice.EventFilter{From: from, To: to, ClientID: "acme-1"}, 13},
			{"WithAction", tokenservice.EventFilter{From: from, To: to, Action: tokenservice.ActionRenamed}, 10},
			{"AfterTheLastEvent", tokenservice.EventFilter{From: now.Add(time.Hour)}, 0},
			{"BeforeTheFirstEvent", tokenservice.EventFilter{To: now}, 0},
			{"EmptyRange", tokenservice.EventFilter{From: to, To: from}, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n := 0
				err := db.EachEvent(ctx, "acme", tc.f, func(e *tokenservice.Event) error {
					n++
					if !tc.f.From.IsZero() && e.At.Before(tc.f.From) || !tc.f.To.IsZero() && !e.At.Before(tc.f.To) {
						t.Errorf("event at %v is outside %v–%v", e.At, tc.f.From, tc.f.To)
					}
					if e.AccountID != "acme" {
						t.Errorf("another account's event: %+v", e)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := n, tc.want; got != want {
					t.Errorf("events in range = %d, want %d", got, want)
				}
			})
		}
		t.Run("Pages", func(t *testing.T) {
			f := tokenservice.EventFilter{From: from, To: to, Limit: 20}
			var seen []int64
			for {
				page, err := db.ListEvents(ctx, "acme", f)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page.Events {
					seen = append(seen, e.ID)
				}
				if page.Older == 0 {
					break
				}
				f.Before = page.Older
			}
			if got, want := len(seen), 50; got != want {
				t.Errorf("paged through %d events, want %d", got, want)
			}
		})
	})
}

// seedEvents adds n events to account's trail, spread over three people,
// four applications and several actions, in one transaction.
func seedEvents(tb testing.TB, db *DB, account string, n int) {
	tb.Helper()
	ctx := context.Background()
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	acts := []tokenservice.Action{tokenservice.ActionCreated, tokenservice.ActionRenamed, tokenservice.ActionSecretReset, tokenservice.ActionSecretRevealed, tokenservice.ActionSignedIn}
	for i := range n {
		who := fmt.Sprintf("user%d@%s.example", i%3, account)
		e := &tokenservice.Event{AccountID: account, At: now.Add(time.Duration(i) * time.Second), Action: acts[i%len(acts)],
			Actor: testActor(who), ClientID: fmt.Sprintf("%s-%d", account, i%4), ApplicationName: fmt.Sprintf("App %d", i%4), OldName: "Before"}
		if err := recordEvent(ctx, tx, e, ""); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// TestEventQueriesUseIndexes: every query of the Activity page reads through
// one of the account's indexes in id order, never the whole table and never
// a sort, so its cost does not grow with the trail. On SQLite the index is
// named (INDEXED BY); on PostgreSQL the planner must choose one itself.
func TestEventQueriesUseIndexes(t *testing.T) { forEachStore(t, testEventQueriesUseIndexes) }

func testEventQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	seedEvents(t, db, "acme", 2000)
	if _, err := db.pool.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	if storeKind(t) == onPostgres {
		testEventQueriesUseIndexesPostgres(t, db)
		return
	}
	for _, f := range []tokenservice.EventFilter{
		{}, {Before: 1000}, {After: 1000},
		{Action: tokenservice.ActionRenamed}, {Actor: "sub-user1@acme.example"}, {ClientID: "acme-1"},
		{ClientID: "acme-1", Action: tokenservice.ActionRenamed, Before: 1000},
		{From: now.Add(time.Minute)}, {To: now.Add(time.Minute)}, {From: now.Add(time.Minute), To: now.Add(10 * time.Minute), Before: 1000},
		{ClientID: "acme-1", From: now.Add(time.Minute), To: now.Add(10 * time.Minute)},
	} {
		query, args := eventPageQuery(db.dialect, "acme", f, 51)
		plan := queryPlan(t, db, query, args...)
		if !strings.Contains(plan, "USING INDEX events_account") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("filter %+v: plan does not read one index in order:\n%s", f, plan)
		}
	}
	plan := queryPlan(t, db, `SELECT subject, email FROM event_actors WHERE account_id = ? ORDER BY email, subject LIMIT 1000`, "acme")
	if !strings.Contains(plan, "USING PRIMARY KEY") && !strings.Contains(plan, "USING INDEX") {
		t.Errorf("event actors: plan scans the table:\n%s", plan)
	}
	plan = queryPlan(t, db, `SELECT client_id FROM events WHERE account_id = ? AND form_key = ?`, "acme", "k")
	if !strings.Contains(plan, "events_form_key") {
		t.Errorf("form key: plan does not use its index:\n%s", plan)
	}
}

// testEventQueriesUseIndexesPostgres is TestEventQueriesUseIndexes on
// PostgreSQL, whose planner chooses the index from what it knows of the
// data (here: among other accounts' events) and may prefer the primary key,
// walked in id order, when one account holds most events: every plan reads
// through an index, none reads the whole table.
func testEventQueriesUseIndexesPostgres(t *testing.T, db *DB) {
	ctx := context.Background()
	for _, account := range []string{"globex", "initech", "umbrella"} {
		seedEvents(t, db, account, 2000)
	}
	if _, err := db.pool.ExecContext(ctx, `ANALYZE events`); err != nil {
		t.Fatal(err)
	}
	for _, f := range []tokenservice.EventFilter{
		{}, {Before: 1000}, {After: 1000},
		{Action: tokenservice.ActionRenamed}, {Actor: "sub-user1@acme.example"}, {ClientID: "acme-1"},
		{ClientID: "acme-1", Action: tokenservice.ActionRenamed, Before: 1000},
		{From: now.Add(time.Minute)}, {To: now.Add(time.Minute)}, {From: now.Add(time.Minute), To: now.Add(10 * time.Minute), Before: 1000},
		{ClientID: "acme-1", From: now.Add(time.Minute), To: now.Add(10 * time.Minute)},
	} {
		query, args := eventPageQuery(db.dialect, "acme", f, 51)
		plan := explain(t, db, query, args...)
		if !strings.Contains(plan, "Index") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("filter %+v: plan does not read through an index:\n%s", f, plan)
		}
	}
	plan := explain(t, db, `SELECT client_id FROM events WHERE account_id = ? AND form_key = ?`, "acme", "k")
	if !strings.Contains(plan, "events_form_key") {
		t.Errorf("form key: plan does not use its index:\n%s", plan)
	}
}

// explain returns PostgreSQL's EXPLAIN of query.
func explain(tb testing.TB, db *DB, query string, args ...any) string {
	tb.Helper()
	rows, err := db.pool.QueryContext(context.Background(), `EXPLAIN `+query, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			tb.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// queryPlan returns EXPLAIN QUERY PLAN's lines for query.
func queryPlan(tb testing.TB, db *DB, query string, args ...any) string {
	tb.Helper()
	rows, err := db.pool.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			tb.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}

// TestResetRacingDelete: a reset and a delete of one application, made
// against the version both admins saw, at the same moment: exactly one
// wins; the other is refused and changes nothing; the trail says which.
func TestResetRacingDelete(t *testing.T) { forEachStore(t, testResetRacingDelete) }

func testResetRacingDelete(t *testing.T) {
	ctx := context.Background()
	wins := map[string]int{}
	for round := range 20 {
		db := openTestDB(t)
		app := mustCreate(t, db, "acme", "client-1", "Contested", readEmail)
		var resetErr, deleteErr error
		var wg sync.WaitGroup
		wg.Add(2)
		// Half the rounds give the reset a head start, half the delete, so
		// both orders happen; within a round they still race.
		head := func(first bool) {
			if first != (round%2 == 0) {
				time.Sleep(2 * time.Millisecond)
			}
		}
		go func() {
			defer wg.Done()
			head(true)
			_, resetErr = db.ResetSecret(ctx, tokenservice.SecretReset{AccountID: "acme", ClientID: "client-1", Version: app.Version, Secret: testSecret("reset"), Actor: testActor("a@acme.example"), Now: now})
		}()
		go func() {
			defer wg.Done()
			head(false)
			deleteErr = db.DeleteApplication(ctx, tokenservice.ApplicationDeletion{AccountID: "acme", ClientID: "client-1", Version: app.Version, Actor: testActor("b@acme.example"), Now: now})
		}()
		wg.Wait()
		got := actions(t, db, "acme")
		switch {
		case resetErr == nil && deleteErr != nil:
			wins["reset"]++
			wantCode(t, deleteErr, tokenservice.ECONFLICT)
			if _, err := db.GetApplication(ctx, "acme", "client-1"); err != nil {
				t.Fatalf("round %d: the reset won but the application is gone: %v", round, err)
			}
			if want := []tokenservice.Action{tokenservice.ActionCreated, tokenservice.ActionSecretReset}; !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: trail %v, want %v", round, got, want)
			}
		case deleteErr == nil && resetErr != nil:
			wins["delete"]++
			wantCode(t, resetErr, tokenservice.ENOTFOUND)
			if n := countRows(t, db, `SELECT count(*) FROM applications`); n != 0 {
				t.Fatalf("round %d: the delete won but the reset brought the application back", round)
			}
			if want := []tokenservice.Action{tokenservice.ActionCreated, tokenservice.ActionDeleted}; !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: trail %v, want %v", round, got, want)
			}
		default:
			t.Fatalf("round %d: reset %v, delete %v; want exactly one to succeed", round, resetErr, deleteErr)
		}
	}
	if wins["reset"] == 0 || wins["delete"] == 0 {
		t.Errorf("wins %v: want both orders to have happened", wins)
	}
}

// TestRevealRacingWindowEnd: reveals around the end of the window, with the
// sweep erasing at the same time: every reveal before the end gets the
// secret and is in the trail; every one at or after it is EGONE and is not.
func TestRevealRacingWindowEnd(t *testing.T) { forEachStore(t, testRevealRacingWindowEnd) }

func testRevealRacingWindowEnd(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	app := mustCreate(t, db, "acme", "client-1", "Ending", readEmail)
	end := app.SecretRevealUntil
	var wg sync.WaitGroup
	var mu sync.Mutex
	shown := 0
	for i := range 40 {
		at := end.Add(time.Duration(i-20) * time.Millisecond)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 25 {
				if _, err := db.EraseExpiredSecrets(ctx, at); err != nil {
					t.Error(err)
				}
			}
			ct, _, err := db.SecretCiphertext(ctx, "acme", "client-1", tokenservice.ActionSecretRevealed, testActor("a@acme.example"), at)
			switch {
			case at.Before(end) && err == nil && string(ct) == "ciphertext:secret of client-1":
				mu.Lock()
				shown++
				mu.Unlock()
			case at.Before(end):
				// The sweep at end+5ms may erase it first: then it is gone,
				// never wrong.
				if tokenservice.ErrorCode(err) != tokenservice.EGONE {
					t.Errorf("reveal at end%+v: %q, %v", at.Sub(end), ct, err)
				}
			case err == nil || tokenservice.ErrorCode(err) != tokenservice.EGONE:
				t.Errorf("reveal at end+%v: %q, %v; want EGONE", at.Sub(end), ct, err)
			}
		}()
	}
	wg.Wait()
	page, err := db.ListEvents(ctx, "acme", tokenservice.EventFilter{Action: tokenservice.ActionSecretRevealed})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != shown {
		t.Errorf("trail has %d reveals, %d were shown", len(page.Events), shown)
	}
	for _, e := range page.Events {
		if !e.At.Before(end) {
			t.Errorf("a reveal at %v, after the window's end %v, is in the trail", e.At, end)
		}
	}
}

func BenchmarkListEvents(b *testing.B) {
	ctx := context.Background()
	db := openTestDB(b)
	const n = 1_000_000
	for range n / 100_000 {
		seedEvents(b, db, "acme", 100_000)
	}
	seedEvents(b, db, "globex", 1000)
	for _, bb := range []struct {
		name string
		f    tokenservice.EventFilter
	}{
		{"Newest", tokenservice.EventFilter{}},
		{"Deep", tokenservice.EventFilter{Before: n / 2}},
		{"ByAction", tokenservice.EventFilter{Action: tokenservice.ActionSecretReset}},
		{"ByPerson", tokenservice.EventFilter{Actor: "sub-user2@acme.example"}},
		{"ByApplication", tokenservice.EventFilter{ClientID: "acme-3", Before: n / 3}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				page, err := db.ListEvents(ctx, "acme", bb.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Events) != tokenservice.DefaultEventLimit {
					b.Fatalf("page of %d", len(page.Events))
				}
			}
		})
	}
}

// TestEventsInvalidUTF8: what a browser or provider sends is not always
// UTF-8 (a Latin-1 User-Agent); the change and its event are stored anyway,
// as valid text, on both stores.
func TestEventsInvalidUTF8(t *testing.T) { forEachStore(t, testEventsInvalidUTF8) }

func testEventsInvalidUTF8(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	actor := tokenservice.Actor{Subject: "sub-\xff", Email: "caf\xe9@acme.example", Address: "192.0.2.1", UserAgent: "Mozilla/5.0 (\xe9t\xe9)"}
	if _, err := db.CreateApplication(ctx, tokenservice.NewApplication{AccountID: "acme", ClientID: "client-1", Name: "Latin-1",
		Secret: testSecret("1"), Actor: actor, Now: now}); err != nil {
		t.Fatalf("a change by a browser with a Latin-1 User-Agent: %v", err)
	}
	page, err := db.ListEvents(ctx, "acme", tokenservice.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := page.Events[0].Actor
	for _, s := range []string{got.Subject, got.Email, got.UserAgent} {
		if !utf8.ValidString(s) || !strings.ContainsRune(s, utf8.RuneError) {
			t.Errorf("stored %q: want valid UTF-8 with the bad bytes replaced", s)
		}
	}
	if actors, err := db.EventActors(ctx, "acme"); err != nil || len(actors) != 1 || !utf8.ValidString(actors[0].Email) {
		t.Errorf("actors = %+v, %v", actors, err)
	}
}
