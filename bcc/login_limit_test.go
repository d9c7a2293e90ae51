package bcc_test

import (
	"net"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// browserFrom is a browser whose connections come from the loopback address
// ip (Linux routes all of 127/8 to the loopback interface).
func browserFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	if ln, err := net.Listen("tcp", ip+":0"); err != nil {
		t.Skipf("loopback address %s is not usable: %v", ip, err)
	} else {
		ln.Close()
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 15 * time.Second}
}

// checkLimited checks the answer to a sign-in while failures are limited:
// 429, Retry-After, the form again with a message saying to wait.
func checkLimited(t *testing.T, p page) {
	t.Helper()
	if got, want := p.status, http.StatusTooManyRequests; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	if s, err := strconv.Atoi(p.header.Get("Retry-After")); err != nil || s <= 0 {
		t.Errorf("Retry-After = %q, want a positive number of seconds", p.header.Get("Retry-After"))
	}
	if !p.isLoginForm() || !strings.Contains(p.body, "Too many failed sign-in attempts") {
		t.Errorf("want the login form with the too-many-attempts message:\n%s", p.body)
	}
}

func TestLoginRateLimit(t *testing.T) {
	t.Run("PerEmail", func(t *testing.T) {
		e := newEnv(t, "")
		b := browserFrom(t, "127.0.0.1")
		conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
		login := get(t, b, conf.AuthCodeURL("state-1"))
		for i := 1; i <= 5; i++ {
			if p := submitLogin(t, b, login, "admin@acme.example", "guess-"+strconv.Itoa(i)); p.status != http.StatusUnauthorized {
				t.Fatalf("failure %d: status %d, want 401", i, p.status)
			}
		}
		// Limited: not even the right password is checked, whatever the
		// e-mail's case.
		checkLimited(t, submitLogin(t, b, login, "Admin@ACME.example", "demo"))
		// Another user from the same address is not.
		if p := submitLogin(t, b, login, "viewer@acme.example", "demo"); !p.isCallback(e) {
			t.Fatalf("another user from the same address ended at %s (%d), want the callback", p.url, p.status)
		}
	})

	t.Run("PerAddress", func(t *testing.T) {
		e := newEnv(t, "")
		attacker := browserFrom(t, "127.0.0.2")
		conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
		login := get(t, attacker, conf.AuthCodeURL("state-1"))
		var limited *page
		for i := 1; i <= 30 && limited == nil; i++ {
			// A different e-mail each time: only the address's limit can stop it.
			p := submitLogin(t, attacker, login, "user"+strconv.Itoa(i)+"@acme.example", "demo")
			switch {
			case p.status == http.StatusTooManyRequests && i > 20:
				limited = &p
			case p.status != http.StatusUnauthorized:
				t.Fatalf("attempt %d: status %d", i, p.status)
			}
		}
		if limited == nil {
			t.Fatal("30 failed sign-ins from one address, and no 429")
		}
		checkLimited(t, *limited)
		checkLimited(t, submitLogin(t, attacker, login, "admin@acme.example", "demo"))

		// Someone else, elsewhere, signs in as usual.
		b := browserFrom(t, "127.0.0.3")
		p := e.signIn(t, b, conf, "admin@acme.example", "demo", oauth2.GenerateVerifier())
		if !p.isCallback(e) {
			t.Fatalf("sign-in from another address ended at %s (%d), want the callback", p.url, p.status)
		}
	})
}
