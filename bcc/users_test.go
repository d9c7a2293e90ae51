package bcc_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"

	"tokenservice/bcc"
)

func writeUsersFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsersFile(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-hashed"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := writeUsersFile(t, `{
		"accounts": [{"id": "initech", "name": "Initech"}],
		"users": [
			{"email": "boss@initech.example", "name": "Bill Lumbergh", "account": "initech", "roles": ["admin"], "password_hash": "`+string(hash)+`"},
			{"id": "peter", "email": "peter@initech.example", "name": "Peter Gibbons", "account": "initech", "password": "plain-pass", "groups": ["tps"]},
			{"email": "drifter@example.com", "name": "No Account", "password": "drift"}
		]
	}`)
	e := newEnv(t, path)

	users := e.provider.Users()
	if got, want := len(users), 3; got != want {
		t.Fatalf("Users() has %d users, want %d", got, want)
	}
	if got, want := users[1].Subject, "peter"; got != want {
		t.Errorf("subject from id = %q, want %q", got, want)
	}
	if got, want := users[0].AccountName, "Initech"; got != want {
		t.Errorf("account name = %q, want %q", got, want)
	}

	tests := []struct {
		name, email, password string
		wantAccount           any
		wantGroups            []string
	}{
		{"BcryptHash", "boss@initech.example", "s3cret-hashed", "initech", []string{"account:initech", "admins"}},
		{"PlaintextPassword", "Peter@Initech.example", "plain-pass", "initech", []string{"tps"}},
		{"NoAccount", "drifter@example.com", "drift", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := e.oauthConfig(clientID, clientSecret, oauth2.AuthStyleInHeader)
			verifier := oauth2.GenerateVerifier()
			cb := e.signIn(t, newBrowser(t), conf, tt.email, tt.password, verifier)
			tok, err := conf.Exchange(context.Background(), code(t, cb, e), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			c := claims(t, tok.Extra("id_token").(string))
			if got, want := c["account_id"], tt.wantAccount; got != want {
				t.Errorf("account_id = %v, want %v", got, want)
			}
			groups, _ := c["groups"].([]any)
			if got, want := len(groups), len(tt.wantGroups); got != want {
				t.Fatalf("groups = %v, want %v", groups, tt.wantGroups)
			}
			for i, g := range tt.wantGroups {
				if groups[i] != g {
					t.Errorf("groups = %v, want %v", groups, tt.wantGroups)
				}
			}
		})
	}
}

func TestUsersFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string // "" means the file does not exist
		want    string
	}{
		{"Missing", "", "read users file"},
		{"NotJSON", `{"users": [`, "users file"},
		{"UnknownField", `{"users": [{"email": "a@b.example", "pasword": "x"}]}`, `unknown field "pasword"`},
		{"NoUsers", `{"accounts": [], "users": []}`, "no users defined"},
		{"UnknownAccount", `{"users": [{"email": "a@b.example", "account": "nope", "password": "x"}]}`, `unknown account "nope"`},
		{"NoPassword", `{"users": [{"email": "a@b.example"}]}`, "password_hash (bcrypt) or password is required"},
		{"BadHash", `{"users": [{"email": "a@b.example", "password_hash": "plain"}]}`, "password_hash is not a bcrypt hash"},
		{"BothPasswords", `{"users": [{"email": "a@b.example", "password": "x", "password_hash": "$2a$04$abc"}]}`, "not both"},
		{"DuplicateEmail", `{"users": [{"email": "a@b.example", "password": "x"}, {"email": "A@b.example", "password": "y"}]}`, "duplicate e-mail"},
		{"BadEmail", `{"users": [{"email": "nobody", "password": "x"}]}`, "a valid email is required"},
		{"ColonInID", `{"users": [{"id": "a:b", "email": "a@b.example", "password": "x"}]}`, "must not contain colons"},
		// What the portal shows of a user or an account must look like what it is.
		{"ZeroWidthSpaceInName", `{"users": [{"email": "a@b.example", "name": "Ada\u200b Admin", "password": "x"}]}`, `name "Ada\u200b Admin" contains an invisible character (U+200B)`},
		{"BidiOverrideInName", `{"users": [{"email": "a@b.example", "name": "Ada \u202eAdmin", "password": "x"}]}`, "(U+202E)"},
		{"TabInName", `{"users": [{"email": "a@b.example", "name": "Ada\tAdmin", "password": "x"}]}`, "contains a control character (U+0009)"},
		{"SoftHyphenInEmail", `{"users": [{"email": "ad\u00ada@b.example", "password": "x"}]}`, `email "ad\u00ada@b.example" contains an invisible character (U+00AD)`},
		{"ByteOrderMarkInID", `{"users": [{"id": "\ufeffada", "email": "a@b.example", "password": "x"}]}`, "(U+FEFF)"},
		{"ZeroWidthJoinerInAccountName", `{"accounts": [{"id": "acme", "name": "Ac\u200dme"}], "users": [{"email": "a@b.example", "account": "acme", "password": "x"}]}`, "accounts[0]: name"},
		{"TagInAccountID", `{"accounts": [{"id": "acme\udb40\udc41"}], "users": [{"email": "a@b.example", "password": "x"}]}`, "(U+E0041)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "missing.json")
			if tt.content != "" {
				path = writeUsersFile(t, tt.content)
			}
			_, err := bcc.New(bcc.Config{
				Issuer:    "http://127.0.0.1:1",
				UsersFile: path,
				Clients:   []bcc.Client{{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:2/cb"}}},
			}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	client := bcc.Client{ID: "c", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:2/cb"}}
	tests := []struct {
		name string
		cfg  bcc.Config
		want string
	}{
		{"RelativeIssuer", bcc.Config{Issuer: "127.0.0.1:8081", Clients: []bcc.Client{client}}, "absolute http(s) URL"},
		{"NoClients", bcc.Config{Issuer: "http://127.0.0.1:8081"}, "at least one client"},
		{"NoRedirectURI", bcc.Config{Issuer: "http://127.0.0.1:8081", Clients: []bcc.Client{{ID: "c"}}}, "no redirect URI"},
		{"DuplicateClient", bcc.Config{Issuer: "http://127.0.0.1:8081", Clients: []bcc.Client{client, client}}, "configured twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bcc.New(tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
