package handlers

import (
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"tokenservice"
)

// oauthError is an error response of the token, introspection and
// revocation endpoints (RFC 6749 §5.2).
type oauthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	RetryAfter  int    `json:"-"` // seconds, for 429
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func invalidRequest(desc string) *oauthError {
	return &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
}

func invalidClient(desc string) *oauthError {
	return &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: desc}
}

// maxOAuthBody is the largest request body the OAuth endpoints read. A
// token request is well under 300 bytes and an introspection request
// carries one token of under 1 KiB.
const maxOAuthBody = 8 << 10

// Client authentication methods (RFC 8414 token_endpoint_auth_methods_supported).
const (
	authBasic = "client_secret_basic"
	authPost  = "client_secret_post"
)

// clientRequest is a parsed request to an OAuth endpoint: the client's
// credentials and the other parameters of the body.
type clientRequest struct {
	ClientID     string
	ClientSecret string
	AuthMethod   string
	Form         url.Values // every body parameter, each present once

	credential *tokenservice.ClientSecret // the secret that authenticated it
}

// parseFormBody parses the body of a POST to an OAuth endpoint: a UTF-8
// form, and nothing in the URL, where a secret would end up in logs.
func parseFormBody(contentType, rawQuery string, body []byte) (url.Values, *oauthError) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("The request body must be application/x-www-form-urlencoded.")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, invalidRequest("The request body must be encoded in UTF-8.")
	}
	if rawQuery != "" {
		return nil, invalidRequest("Parameters must be sent in the request body, not in the URL.")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest("The request body is not valid form encoding.")
	}
	return form, nil
}

// parseClientRequest parses an OAuth endpoint's request without I/O, so it
// can be fuzzed: a form body, each parameter once, one client authentication
// (RFC 6749 §3.2, §2.3), and nothing in the URL, where a secret would leak.
func parseClientRequest(contentType, authorization, rawQuery string, body []byte) (*clientRequest, *oauthError) {
	form, oerr := parseFormBody(contentType, rawQuery, body)
	if oerr != nil {
		return nil, oerr
	}
	for name, values := range form {
		if len(values) > 1 {
			return nil, invalidRequest("The parameter " + quoteParam(name) + " is included more than once.")
		}
		if values[0] == "" {
			delete(form, name) // sent without a value: as if omitted (RFC 6749 §3.2)
		}
	}
	r := &clientRequest{Form: form}
	_, postSecret := form["client_secret"]
	postID := form.Get("client_id")

	if authorization != "" {
		scheme, creds, _ := strings.Cut(authorization, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return nil, invalidClient("Only HTTP Basic client authentication (client_secret_basic) or client_secret_post is supported.")
		}
		id, secret, perr := parseBasic(strings.TrimLeft(creds, " "))
		if perr != nil {
			return nil, perr
		}
		if postSecret {
			return nil, invalidRequest("The client authenticated with both HTTP Basic and client_secret in the body; use one method.")
		}
		if postID != "" && postID != id {
			return nil, invalidRequest("The client_id in the body does not match the one in the Authorization header.")
		}
		r.ClientID, r.ClientSecret, r.AuthMethod = id, secret, authBasic
		delete(form, "client_id")
		return r, nil
	}
	if !postSecret || postID == "" {
		return nil, invalidClient("Client authentication is required: send client_id and client_secret with HTTP Basic or in the body.")
	}
	r.ClientID, r.ClientSecret, r.AuthMethod = postID, form.Get("client_secret"), authPost
	delete(form, "client_id")
	delete(form, "client_secret")
	return r, nil
}

// parseBasic decodes HTTP Basic credentials. RFC 6749 §2.3.1: the client ID
// and secret are form-urlencoded before they are joined with ":" and
// base64-encoded, so a ':' inside either arrives as %3A.
func parseBasic(creds string) (id, secret string, err *oauthError) {
	raw, derr := base64.StdEncoding.DecodeString(creds)
	if derr != nil {
		return "", "", invalidRequest("The Authorization header is not valid HTTP Basic credentials.")
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", invalidRequest("The Authorization header is not valid HTTP Basic credentials.")
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil {
		return "", "", invalidRequest("The HTTP Basic credentials are not valid form encoding.")
	}
	if id == "" {
		return "", "", invalidClient("The HTTP Basic credentials have no client ID.")
	}
	return id, secret, nil
}

// quoteParam names a parameter in an error description, cut short and in
// the characters RFC 6749 §5.2 allows there (printable ASCII but '"' and
// '\'): descriptions must not echo arbitrary input back.
func quoteParam(name string) string {
	const max = 40
	var b strings.Builder
	for i, r := range name {
		if i >= max {
			b.WriteString("...")
			break
		}
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '\'' {
			r = '?'
		}
		b.WriteRune(r)
	}
	return "'" + b.String() + "'"
}

// validScopeToken reports whether s is a scope-token of RFC 6749 §3.3
// (%x21 / %x23-5B / %x5D-7E).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}
