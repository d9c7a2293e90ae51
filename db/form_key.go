package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"tokenservice"
)

// MaxFormKey is the longest form submission id the store records; longer
// ones are ignored.
const MaxFormKey = 64

// checkFormKey answers a DuplicateError when the account's trail holds a
// change made by the form key. It runs first in the write transaction, which
// holds the write lock, so a second post sees the first's event.
func checkFormKey(ctx context.Context, q queryer, accountID, formKey string) error {
	if formKey = validFormKey(formKey); formKey == "" {
		return nil
	}
	var clientID string
	err := q.QueryRowContext(ctx,
		`SELECT client_id FROM events WHERE account_id = ? AND form_key = ?`,
		accountID, formKey).Scan(&clientID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return fmt.Errorf("form key: %w", err)
	}
	return &tokenservice.DuplicateError{ClientID: clientID}
}

// FormSubmitted reports whether the account's trail holds a change made by
// the form submission key, and the client ID it changed.
func (db *DB) FormSubmitted(ctx context.Context, accountID, formKey string) (clientID string, ok bool, err error) {
	var dup *tokenservice.DuplicateError
	if err := checkFormKey(ctx, db.pool, accountID, formKey); errors.As(err, &dup) {
		return dup.ClientID, true, nil
	} else if err != nil {
		return "", false, fmt.Errorf("db: %w", err)
	}
	return "", false, nil
}

// validFormKey returns the key if the store may record it, else "".
func validFormKey(key string) string {
	if len(key) > MaxFormKey || strings.ContainsFunc(key, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return ""
	}
	return key
}
