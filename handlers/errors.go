package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/views"
)

// statusOf maps a domain error code to its HTTP status.
var statusOf = map[string]int{
	tokenservice.ECONFLICT:     http.StatusConflict,
	tokenservice.EINTERNAL:     http.StatusInternalServerError,
	tokenservice.EINVALID:      http.StatusUnprocessableEntity,
	tokenservice.ENOTFOUND:     http.StatusNotFound,
	tokenservice.EUNAUTHORIZED: http.StatusUnauthorized,
	tokenservice.EFORBIDDEN:    http.StatusForbidden,
	tokenservice.EGONE:         http.StatusGone,
}

var titleOf = map[int]string{
	http.StatusBadRequest:            "Bad request",
	http.StatusUnauthorized:          "Sign-in failed",
	http.StatusForbidden:             "Access denied",
	http.StatusNotFound:              "Not found",
	http.StatusMethodNotAllowed:      "Method not allowed",
	http.StatusConflict:              "Changed by someone else",
	http.StatusGone:                  "No longer available",
	http.StatusRequestEntityTooLarge: "Request too large",
	http.StatusUnprocessableEntity:   "Invalid input",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusInternalServerError:   "Something went wrong",
}

var messageOf = map[int]string{
	http.StatusNotFound:              "There is no such page or application in your account.",
	http.StatusMethodNotAllowed:      "This page cannot be used that way.",
	http.StatusRequestEntityTooLarge: "The form was too large. Nothing was saved.",
	http.StatusInternalServerError:   "The server could not complete your request. Nothing you did was lost; please try again. If it keeps happening, give your operator the request ID below.",
}

// errNoAccount is the answer to a signed-in user whom the identity provider
// gave no account: a 403 page that offers to sign out.
var errNoAccount = tokenservice.Errorf(tokenservice.EFORBIDDEN,
	"You are signed in, but your identity provider did not say which account you belong to, so there are no applications to show. Ask your administrator to add you to an account.")

// errActivityAdminsOnly is the answer to a read-only member who asks for
// the audit trail.
var errActivityAdminsOnly = tokenservice.Errorf(tokenservice.EFORBIDDEN, "Only admins of the account can see its activity.")

// notFound is the one answer for a missing application and for another
// account's: the two must be indistinguishable.
func notFound() error {
	return tokenservice.Errorf(tokenservice.ENOTFOUND, "There is no such application in your account.")
}

// errorHandler is the single place where errors become responses: a status, a
// fixed helpful message and the request id; the detail goes to the log.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if strings.HasPrefix(c.Request().URL.Path, "/oauth2/") {
		s.oauthErrorHandler(err, c)
		return
	}
	// A person refused (read-only, or an application not in their account)
	// is recorded here, the one place every refusal passes.
	s.refusals.record(c, err)
	status := http.StatusInternalServerError
	msg := ""
	var he *echo.HTTPError
	var te *tokenservice.Error
	switch {
	case errors.As(err, &te):
		status = statusOf[te.Code]
		if te.Code != tokenservice.EINTERNAL {
			msg = te.Message
		}
	case errors.As(err, &he):
		status = he.Code
	}
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	if status >= 500 {
		s.logger.Error("request failed", "request_id", reqID, "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	} else {
		s.logger.Debug("request refused", "request_id", reqID, "status", status, "err", err)
	}
	if msg == "" {
		msg = messageOf[status]
	}
	if msg == "" {
		msg = http.StatusText(status) + "."
	}
	title := titleOf[status]
	if title == "" {
		title = http.StatusText(status)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if strings.HasPrefix(c.Request().Header.Get(echo.HeaderAccept), echo.MIMETextPlain) {
		// A script's request, the copy button's: the message, not a page.
		_ = c.String(status, msg)
		return
	}
	if isHTMX(c) {
		// The error page replaces the page's main content, wherever the
		// request meant to swap, so a click never goes unanswered.
		h := c.Response().Header()
		h.Set("HX-Retarget", "#main")
		h.Set("HX-Reselect", "#main")
		h.Set("HX-Reswap", "outerHTML")
	}
	page := views.ErrorPage{Status: status, Title: title, Message: msg, RequestID: reqID}
	if errors.Is(err, errNoAccount) {
		page.Title, page.SignOut = "No account", true
	}
	if rerr := render(c, status, views.Error(page)); rerr != nil {
		s.logger.Error("render error page", "request_id", reqID, "err", rerr)
		_ = c.String(status, msg)
	}
}

// oauthErrorHandler answers the OAuth endpoints' errors in RFC 6749 §5.2
// JSON: their own, and whatever else went wrong, as server_error.
func (s *Server) oauthErrorHandler(err error, c echo.Context) {
	var oe *oauthError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &oe):
	case errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge:
		oe = &oauthError{Status: he.Code, Code: "invalid_request", Description: "The request body is too large."}
	default:
		s.logger.Error("request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		oe = &oauthError{Status: http.StatusInternalServerError, Code: "server_error",
			Description: "The server could not complete the request. Try again."}
	}
	if werr := writeOAuthError(c, oe); werr != nil {
		s.logger.Error("write oauth error", append(logAttrs(c), "err", werr)...)
	}
}

// logAttrs is the request's identifying attributes for log lines: its
// request id, the one in the X-Request-Id header and on the error page.
func logAttrs(c echo.Context) []any {
	return []any{slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID))}
}
