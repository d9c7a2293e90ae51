// Package tokenservice holds the domain of the token service: applications,
// their scopes and credentials, and the error codes every layer speaks.
//
// Subpackages own one dependency or one rule each: db (storage), handlers
// (HTTP), views (pages), scope, secret, token, session, ratelimit and bcc
// (the bundled identity provider); the commands in cmd/ wire them.
package tokenservice

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status and one page in the handlers, and
// to one RFC 6749 error at the token endpoint.
const (
	ECONFLICT     = "conflict"     // the thing changed under the caller (stale version)
	EINTERNAL     = "internal"     // a bug or an outage; details go to the log only
	EINVALID      = "invalid"      // the input was rejected; nothing changed
	ENOTFOUND     = "not_found"    // missing, or another account's (indistinguishable)
	EUNAUTHORIZED = "unauthorized" // not signed in
	EFORBIDDEN    = "forbidden"    // signed in but not allowed (no account, not an admin)
	EGONE         = "gone"         // existed once but is no longer available (a secret after its reveal window)
)

// Error is the domain error: a code for machines and a message safe to show
// to the user. Fields carries one message per form field for EINVALID.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	return fmt.Sprintf("tokenservice error: code=%s message=%s", e.Code, e.Message)
}

// ErrReadOnly is the answer to a read-only member who asks for a change, from
// the route's middleware and from the operation alike.
var ErrReadOnly = Errorf(EFORBIDDEN, "Only admins of the account can change applications. You have read-only access.")

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err, or a generic one for
// errors that are not *Error: internal details are never shown.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// DuplicateError is the answer to a form posted a second time (a double
// click, a resubmitted page): the change was made once already, by the
// first post, and nothing was done again.
type DuplicateError struct {
	ClientID string // the application the first post changed or created
}

func (e *DuplicateError) Error() string {
	return "this form was already submitted; the change was made once"
}
