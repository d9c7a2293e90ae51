package handlers

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/application"
)

// Leak reports are limited per source address, every report counted, not
// only failures: a report needs no authentication, and each costs a hash
// and a transaction per secret.
const (
	leakBurst = 30
	leakEvery = 2 * time.Second
)

// leakSubject is the actor's subject of what a leak report does, as the
// audit trail records it with the reporter's address and user agent.
const leakSubject = "leak-report"

// leakReceipt is the answer to every accepted leak report, whatever it held.
type leakReceipt struct {
	Status string `json:"status"`
}

// reportLeaked is POST /oauth2/secrets/leaked: anyone who finds a client
// secret where it should not be (a secret scanner, a public repository)
// reports it. Holding the secret is the proof, so there is no client
// authentication; a live secret is revoked, or marked leaked if its
// account chose so. The answer is the same 202 whether or not any of the
// secrets existed, so the endpoint tells nobody which secrets are live.
func (o *OAuth) reportLeaked(c echo.Context) error {
	r := c.Request()
	if r.Method != http.MethodPost {
		c.Response().Header().Set("Allow", http.MethodPost)
		return &oauthError{Status: http.StatusMethodNotAllowed, Code: "invalid_request", Description: "Use POST."}
	}
	now := o.now()
	if wait, _ := o.leakReports.Attempt(limitAddress(c.RealIP()), now); wait > 0 {
		return tooManyReports(wait)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxOAuthBody+1))
	if err != nil {
		return invalidRequest("The request body could not be read.")
	}
	if len(body) > maxOAuthBody {
		return &oauthError{Status: http.StatusRequestEntityTooLarge, Code: "invalid_request",
			Description: "The request body is larger than " + strconv.Itoa(maxOAuthBody) + " bytes."}
	}
	secrets, oerr := parseLeakReport(r.Header.Get("Content-Type"), r.URL.RawQuery, body)
	if oerr != nil {
		return oerr
	}
	reporter := tokenservice.Actor{Subject: leakSubject, Address: c.RealIP(),
		UserAgent: strings.ToValidUTF8(r.UserAgent(), "\uFFFD")}
	if err := o.apps.ReportLeakedSecrets(r.Context(), reporter, secrets); err != nil {
		return err
	}
	return writeOAuthJSON(c, http.StatusAccepted, leakReceipt{Status: "received"})
}

// parseLeakReport returns the secrets a leak report's body carries, each
// once: one or more "secret" parameters of a form body, at most
// application.MaxLeakReport, and nothing in the URL, where a secret would
// end up in logs. Other parameters are ignored.
func parseLeakReport(contentType, rawQuery string, body []byte) ([]string, *oauthError) {
	form, oerr := parseFormBody(contentType, rawQuery, body)
	if oerr != nil {
		return nil, oerr
	}
	var secrets []string
	seen := map[string]bool{}
	for _, s := range form["secret"] {
		if s != "" && !seen[s] {
			seen[s] = true
			secrets = append(secrets, s)
		}
	}
	switch {
	case len(secrets) == 0:
		return nil, invalidRequest("The secret parameter is required: send each leaked secret as secret=...")
	case len(form["secret"]) > application.MaxLeakReport:
		return nil, invalidRequest("A report may carry at most " + strconv.Itoa(application.MaxLeakReport) +
			" secrets; send the others in another report.")
	}
	return secrets, nil
}

func tooManyReports(wait time.Duration) *oauthError {
	secs := int((wait + time.Second - 1) / time.Second)
	return &oauthError{Status: http.StatusTooManyRequests, Code: "temporarily_unavailable", RetryAfter: secs,
		Description: "Too many leak reports from this address. Retry after " + strconv.Itoa(secs) + " seconds."}
}
