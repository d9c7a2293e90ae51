package db

import (
	"context"
	"testing"
	"time"

	"tokenservice"
)

func TestSessions(t *testing.T) { forEachStore(t, testSessions) }

func testSessions(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t)
	expires := now.Add(time.Hour)

	t.Run("SaveAndLoad", func(t *testing.T) {
		if err := db.SaveSession(ctx, "hash-1", []byte("first"), expires, now); err != nil {
			t.Fatal(err)
		}
		data, err := db.LoadSession(ctx, "hash-1", now)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(data), "first"; got != want {
			t.Errorf("data = %q, want %q", got, want)
		}
	})

	t.Run("SaveReplaces", func(t *testing.T) {
		if err := db.SaveSession(ctx, "hash-1", []byte("second"), expires.Add(time.Hour), now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		data, err := db.LoadSession(ctx, "hash-1", expires.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(data), "second"; got != want {
			t.Errorf("data = %q, want %q", got, want)
		}
		if got, want := countRows(t, db, `SELECT count(*) FROM sessions`), 1; got != want {
			t.Errorf("rows = %d, want %d", got, want)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		_, err := db.LoadSession(ctx, "no-such-hash", now)
		wantCode(t, err, tokenservice.ENOTFOUND)
	})

	t.Run("Expired", func(t *testing.T) {
		if err := db.SaveSession(ctx, "hash-2", []byte("short"), now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			at   time.Time
			code string
		}{
			{"JustBefore", now.Add(time.Minute - time.Millisecond), ""},
			{"AtExpiry", now.Add(time.Minute), tokenservice.ENOTFOUND},
			{"Later", now.Add(time.Hour), tokenservice.ENOTFOUND},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := db.LoadSession(ctx, "hash-2", tt.at)
				wantCode(t, err, tt.code)
			})
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		n, err := db.DeleteExpiredSessions(ctx, now.Add(2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := n, 1; got != want {
			t.Errorf("deleted = %d, want %d", got, want)
		}
		if _, err := db.LoadSession(ctx, "hash-1", now); err != nil {
			t.Errorf("live session deleted: %v", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		if err := db.DeleteSession(ctx, "hash-1"); err != nil {
			t.Fatal(err)
		}
		_, err := db.LoadSession(ctx, "hash-1", now)
		wantCode(t, err, tokenservice.ENOTFOUND)
		if err := db.DeleteSession(ctx, "hash-1"); err != nil {
			t.Errorf("deleting twice: %v", err)
		}
	})
}
