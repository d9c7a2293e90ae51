package handlers

import (
	"net/url"
	"slices"
	"testing"

	"tokenservice/application"
)

// FuzzParseLeakReport: a leak report's body gives the secrets it names,
// each once, between one and application.MaxLeakReport of them, or an
// RFC 6749 error; never a secret from the query string.
func FuzzParseLeakReport(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "", "secret=tss_a&secret=tss_b")
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "", "secret=&secret=tss_a&secret=tss_a&other=1")
	f.Add("application/x-www-form-urlencoded", "secret=tss_q", "secret=tss_a")
	f.Add("text/plain", "", "secret=tss_a")
	f.Add("application/x-www-form-urlencoded", "", "secret=%zz")
	f.Fuzz(func(t *testing.T, contentType, query, body string) {
		secrets, oerr := parseLeakReport(contentType, query, []byte(body))
		if oerr != nil {
			if secrets != nil || oerr.Code != "invalid_request" || oerr.Description == "" {
				t.Fatalf("refused with %+v and secrets %q", oerr, secrets)
			}
			return
		}
		if query != "" {
			t.Fatalf("accepted a report with a query string %q", query)
		}
		if len(secrets) == 0 || len(secrets) > application.MaxLeakReport {
			t.Fatalf("%d secrets, want 1 to %d", len(secrets), application.MaxLeakReport)
		}
		form, err := url.ParseQuery(body)
		if err != nil {
			t.Fatalf("accepted a body that does not parse: %v", err)
		}
		for i, s := range secrets {
			if s == "" || !slices.Contains(form["secret"], s) || slices.Contains(secrets[:i], s) {
				t.Fatalf("secret %q is empty, not in the body, or given twice: %q", s, secrets)
			}
		}
	})
}
