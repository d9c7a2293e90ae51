package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tokenservice"
)

// accountSettings reads an account's settings; an account that never saved
// any has the defaults, at Version 0.
func accountSettings(ctx context.Context, q queryer, accountID string) (*tokenservice.AccountSettings, error) {
	s := &tokenservice.AccountSettings{AccountID: accountID, LeakAction: tokenservice.LeakRevoke}
	var (
		days      sql.NullInt64
		action    string
		updatedAt int64
	)
	err := q.QueryRowContext(ctx, `
		SELECT max_secret_lifetime, leak_action, version, updated_at, updated_by
		FROM account_settings WHERE account_id = ?`, accountID).Scan(&days, &action, &s.Version, &updatedAt, &s.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	} else if err != nil {
		return nil, fmt.Errorf("account settings: %w", err)
	}
	if days.Valid {
		s.MaxSecretLifetime = time.Duration(days.Int64) * 24 * time.Hour
	}
	s.LeakAction = tokenservice.LeakAction(action)
	s.UpdatedAt = fromMillis(updatedAt)
	return s, nil
}

// AccountSettings returns the account's settings, the defaults if none
// were saved.
func (db *DB) AccountSettings(ctx context.Context, accountID string) (*tokenservice.AccountSettings, error) {
	s, err := accountSettings(ctx, db.pool, accountID)
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	return s, nil
}

// UpdateAccountSettings saves the account's settings against the version
// the admin saw (0 for never saved): another save in between is ECONFLICT.
// Saving what is stored already changes nothing and records nothing.
func (db *DB) UpdateAccountSettings(ctx context.Context, u tokenservice.SettingsUpdate) (*tokenservice.AccountSettings, error) {
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db: update settings: %w", err)
	}
	defer tx.Rollback()
	if err := checkFormKey(ctx, tx, u.Settings.AccountID, u.FormKey); err != nil {
		return nil, fmt.Errorf("db: update settings: %w", err)
	}
	before, err := accountSettings(ctx, tx, u.Settings.AccountID)
	if err != nil {
		return nil, fmt.Errorf("db: update settings: %w", err)
	}
	if before.Version != u.Version {
		return nil, fmt.Errorf("db: update settings: %w", tokenservice.Errorf(tokenservice.ECONFLICT,
			"Someone else saved the settings while you were editing them. Review the current values and try again."))
	}
	if before.MaxSecretLifetime == u.Settings.MaxSecretLifetime && before.LeakAction == u.Settings.LeakAction {
		return before, nil
	}
	var days any
	if u.Settings.MaxSecretLifetime > 0 {
		days = int64(u.Settings.MaxSecretLifetime / (24 * time.Hour))
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO account_settings (account_id, max_secret_lifetime, leak_action, version, updated_at, updated_by)
		VALUES (?, ?, ?, 1, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET max_secret_lifetime = excluded.max_secret_lifetime,
			leak_action = excluded.leak_action, version = account_settings.version + 1,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		u.Settings.AccountID, days, string(u.Settings.LeakAction), millis(u.Now), text(u.Actor.Name(), 255)); err != nil {
		return nil, fmt.Errorf("db: update settings: %w", err)
	}
	after, err := accountSettings(ctx, tx, u.Settings.AccountID)
	if err != nil {
		return nil, fmt.Errorf("db: update settings: %w", err)
	}
	e := &tokenservice.Event{AccountID: after.AccountID, At: u.Now, Action: tokenservice.ActionSettingsChanged, Actor: u.Actor,
		OldSettings: before, Settings: after}
	if err := recordEvent(ctx, tx, e, u.FormKey); err != nil {
		return nil, fmt.Errorf("db: update settings: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("db: update settings: %w", err)
	}
	return after, nil
}
