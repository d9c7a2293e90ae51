package bcc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// passwordCost is the bcrypt cost used for passwords hashed at start-up (the demo password and
// plaintext passwords from a users file). It is deliberately low so that a development start is
// instant; production users files should carry their own password_hash at a higher cost.
const passwordCost = 8

// demoPassword is the password of every demo user.
const demoPassword = "demo"

// UserInfo describes a user the provider can sign in, as callers may show or log it. It never
// carries the password or its hash.
type UserInfo struct {
	Subject     string   // the stable `sub` claim
	Email       string   // the sign-in name and `email` claim
	Name        string   // the display name, `name` claim
	AccountID   string   // the customer account, `account_id` claim; empty for a user with no account
	AccountName string   // the account's display name, `account_name` claim
	Roles       []string // the `roles` claim, e.g. ["admin"]; never nil
	Groups      []string // the `groups` claim, sent when the client asks for the groups scope
}

// user is a UserInfo together with the secret needed to check its password.
type user struct {
	UserInfo
	passwordHash []byte
}

// directory holds the accounts and users the provider knows, read once at start.
type directory struct {
	users   []*user
	byEmail map[string]*user
	bySub   map[string]*user
	// dummyHash is compared against when the e-mail is unknown, so that a failed sign-in
	// costs the same whether or not the user exists.
	dummyHash []byte
	demo      bool
}

// usersFile is the JSON shape of a users file.
type usersFile struct {
	Accounts []accountEntry `json:"accounts"`
	Users    []userEntry    `json:"users"`
}

type accountEntry struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type userEntry struct {
	ID           string   `json:"id"`
	Email        string   `json:"email"`
	Name         string   `json:"name"`
	Account      string   `json:"account"`
	Roles        []string `json:"roles"`
	Groups       []string `json:"groups"`
	PasswordHash string   `json:"password_hash"`
	Password     string   `json:"password"`
}

// demoUsers is the data used when no users file is configured.
func demoUsers() usersFile {
	return usersFile{
		Accounts: []accountEntry{
			{ID: "acme", Name: "Acme"},
			{ID: "globex", Name: "Globex"},
		},
		Users: []userEntry{
			{Email: "admin@acme.example", Name: "Ada Admin", Account: "acme", Roles: []string{"admin"}, Password: demoPassword},
			{Email: "viewer@acme.example", Name: "Victor Viewer", Account: "acme", Password: demoPassword},
			{Email: "admin@globex.example", Name: "Grace Globex", Account: "globex", Roles: []string{"admin"}, Password: demoPassword},
		},
	}
}

// loadDirectory reads the users file at path, or the demo data when path is empty.
func loadDirectory(path string) (*directory, error) {
	if path == "" {
		d, err := newDirectory(demoUsers())
		if err != nil {
			return nil, fmt.Errorf("bcc: demo users: %w", err)
		}
		d.demo = true
		return d, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bcc: read users file: %w", err)
	}
	var f usersFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("bcc: users file %s: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("bcc: users file %s: unexpected data after the JSON object", path)
	}
	d, err := newDirectory(f)
	if err != nil {
		return nil, fmt.Errorf("bcc: users file %s: %w", path, err)
	}
	return d, nil
}

// newDirectory validates f and builds the directory, hashing plaintext passwords.
func newDirectory(f usersFile) (*directory, error) {
	accounts := make(map[string]string, len(f.Accounts))
	for i, a := range f.Accounts {
		if a.ID == "" {
			return nil, fmt.Errorf("accounts[%d]: id is required", i)
		}
		if err := checkVisible("id", a.ID); err != nil {
			return nil, fmt.Errorf("accounts[%d]: %w", i, err)
		}
		if err := checkVisible("name", a.Name); err != nil {
			return nil, fmt.Errorf("accounts[%d]: %w", i, err)
		}
		if _, dup := accounts[a.ID]; dup {
			return nil, fmt.Errorf("accounts[%d]: duplicate account id %q", i, a.ID)
		}
		name := a.Name
		if name == "" {
			name = a.ID
		}
		accounts[a.ID] = name
	}
	if len(f.Users) == 0 {
		return nil, errors.New("no users defined")
	}

	d := &directory{
		byEmail: make(map[string]*user, len(f.Users)),
		bySub:   make(map[string]*user, len(f.Users)),
	}
	maxCost := passwordCost
	for i, e := range f.Users {
		u, err := newUser(e, accounts)
		if err != nil {
			return nil, fmt.Errorf("users[%d] (%s): %w", i, e.Email, err)
		}
		key := strings.ToLower(u.Email)
		if _, dup := d.byEmail[key]; dup {
			return nil, fmt.Errorf("users[%d]: duplicate e-mail %q", i, u.Email)
		}
		if _, dup := d.bySub[u.Subject]; dup {
			return nil, fmt.Errorf("users[%d] (%s): duplicate id %q", i, u.Email, u.Subject)
		}
		if cost, err := bcrypt.Cost(u.passwordHash); err == nil && cost > maxCost {
			maxCost = cost
		}
		d.users = append(d.users, u)
		d.byEmail[key] = u
		d.bySub[u.Subject] = u
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("bcc-no-such-user"), maxCost)
	if err != nil {
		return nil, fmt.Errorf("hash dummy password: %w", err)
	}
	d.dummyHash = dummy
	return d, nil
}

func newUser(e userEntry, accounts map[string]string) (*user, error) {
	email := strings.TrimSpace(e.Email)
	if email == "" || !strings.Contains(email, "@") {
		return nil, errors.New("a valid email is required")
	}
	for _, f := range []struct{ field, value string }{{"id", e.ID}, {"email", email}, {"name", e.Name}} {
		if err := checkVisible(f.field, f.value); err != nil {
			return nil, err
		}
	}
	u := &user{UserInfo: UserInfo{
		Subject: e.ID,
		Email:   email,
		Name:    e.Name,
		Roles:   slices.Clone(e.Roles),
		Groups:  slices.Clone(e.Groups),
	}}
	if u.Name == "" {
		u.Name = email
	}
	if u.Roles == nil {
		u.Roles = []string{}
	}
	if u.Subject == "" {
		u.Subject = subjectFromEmail(email)
	}
	if strings.ContainsAny(u.Subject, ": \t\n") {
		return nil, fmt.Errorf("id %q must not contain colons or spaces", u.Subject)
	}
	if e.Account != "" {
		name, ok := accounts[e.Account]
		if !ok {
			return nil, fmt.Errorf("unknown account %q (list it under \"accounts\")", e.Account)
		}
		u.AccountID, u.AccountName = e.Account, name
	}
	if u.Groups == nil {
		u.Groups = defaultGroups(u.AccountID, u.Roles)
	}

	switch {
	case e.PasswordHash != "" && e.Password != "":
		return nil, errors.New("give either password_hash or password, not both")
	case e.PasswordHash != "":
		if _, err := bcrypt.Cost([]byte(e.PasswordHash)); err != nil {
			return nil, fmt.Errorf("password_hash is not a bcrypt hash: %w", err)
		}
		u.passwordHash = []byte(e.PasswordHash)
	case e.Password != "":
		hash, err := bcrypt.GenerateFromPassword([]byte(e.Password), passwordCost)
		if err != nil {
			return nil, fmt.Errorf("hash password: %w", err)
		}
		u.passwordHash = hash
	default:
		return nil, errors.New("password_hash (bcrypt) or password is required")
	}
	return u, nil
}

// checkVisible refuses a value the portal would show as something else: one
// with a control character, a line separator or an invisible format
// character (Unicode Cf), as the portal refuses them in application names.
func checkVisible(field, value string) error {
	for _, r := range value {
		switch {
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			return fmt.Errorf("%s %q contains a control character (%s)", field, value, fmt.Sprintf("%U", r))
		case unicode.Is(unicode.Cf, r):
			return fmt.Errorf("%s %q contains an invisible character (%s)", field, value, fmt.Sprintf("%U", r))
		}
	}
	return nil
}

// subjectFromEmail derives a stable, opaque subject from an e-mail address, so that a user
// keeps the same `sub` across restarts without the file naming one.
func subjectFromEmail(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return "bcc-" + hex.EncodeToString(sum[:12])
}

// defaultGroups is the groups claim of a user whose entry names none: the account as
// "account:<id>" and one group per role, pluralised ("admin" → "admins").
func defaultGroups(accountID string, roles []string) []string {
	groups := []string{}
	if accountID != "" {
		groups = append(groups, "account:"+accountID)
	}
	for _, r := range roles {
		if !strings.HasSuffix(r, "s") {
			r += "s"
		}
		groups = append(groups, r)
	}
	return groups
}

// authenticate returns the user with the e-mail and password, or false. It always runs one
// bcrypt comparison so that unknown e-mails take as long as wrong passwords.
func (d *directory) authenticate(email, password string) (*user, bool) {
	u, known := d.byEmail[strings.ToLower(strings.TrimSpace(email))]
	hash := d.dummyHash
	if known {
		hash = u.passwordHash
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(password)); err != nil || !known {
		return nil, false
	}
	return u, true
}

// user returns the user with the subject.
func (d *directory) user(subject string) (*user, bool) {
	u, ok := d.bySub[subject]
	return u, ok
}

// list returns copies of every user's public details, in file order.
func (d *directory) list() []UserInfo {
	out := make([]UserInfo, 0, len(d.users))
	for _, u := range d.users {
		info := u.UserInfo
		info.Roles = slices.Clone(info.Roles)
		info.Groups = slices.Clone(info.Groups)
		out = append(out, info)
	}
	return out
}
