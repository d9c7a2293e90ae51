// Package scope owns the scope catalogue: the products and resources an
// application can be given access to, and the rules that check an
// application's choice of access against it.
//
// A catalogue entry is keyed "<product>:<resource>" and confers the OAuth
// scopes "<key>:read" and, where the entry allows writing, "<key>:write".
package scope

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"tokenservice"
)

// Entry is one row of the catalogue: a resource of a product.
type Entry struct {
	Key         string   `json:"key"`         // "<product>:<resource>", e.g. "forensics:account"
	Product     string   `json:"product"`     // e.g. "Incident Response"
	Resource    string   `json:"resource"`    // e.g. "Account"
	Description string   `json:"description"` // one sentence shown under the row
	Access      []string `json:"access"`      // offered levels beyond "none": "read", "read-write"
}

// Offers reports whether the entry offers access level a (none always).
func (e Entry) Offers(a tokenservice.Access) bool {
	return a == tokenservice.AccessNone || slices.Contains(e.Access, string(a))
}

// Choices lists the access levels the entry offers, "none" first.
func (e Entry) Choices() []tokenservice.Access {
	out := []tokenservice.Access{tokenservice.AccessNone}
	for _, a := range []tokenservice.Access{tokenservice.AccessRead, tokenservice.AccessReadWrite} {
		if e.Offers(a) {
			out = append(out, a)
		}
	}
	return out
}

// Catalogue is the ordered list of entries an operator offers.
type Catalogue struct {
	Entries []Entry `json:"scopes"`
}

// Lookup returns the entry with key, and whether it exists.
func (c *Catalogue) Lookup(key string) (Entry, bool) {
	for _, e := range c.Entries {
		if e.Key == key {
			return e, true
		}
	}
	return Entry{}, false
}

// Supported lists every OAuth scope the catalogue can grant.
func (c *Catalogue) Supported() []string {
	var out []string
	for _, e := range c.Entries {
		out = append(out, e.Key+":read")
		if e.Offers(tokenservice.AccessReadWrite) {
			out = append(out, e.Key+":write")
		}
	}
	return out
}

// Default is the catalogue used when the operator supplies none. It mirrors
// the vendor's real scopes (ess:account:read, forensics:account:read|write)
// with a few more products of the same shape.
func Default() *Catalogue {
	return &Catalogue{Entries: []Entry{
		{Key: "ess:account", Product: "Email Gateway Defense", Resource: "Account", Access: []string{"read"},
			Description: "Read message logs, domains and policies of the e-mail gateway."},
		{Key: "forensics:account", Product: "Incident Response", Resource: "Account", Access: []string{"read", "read-write"},
			Description: "Search delivered mail, read incidents, and create or remediate incidents."},
		{Key: "impersonation:account", Product: "Impersonation Protection", Resource: "Account", Access: []string{"read", "read-write"},
			Description: "Read detected attacks and manage protected users and allow lists."},
		{Key: "reporting:reports", Product: "Reporting", Resource: "Reports", Access: []string{"read"},
			Description: "Read scheduled and on-demand reports."},
		{Key: "archiving:messages", Product: "Cloud Archiving", Resource: "Messages", Access: []string{"read", "read-write"},
			Description: "Search archived messages, and place or lift legal holds."},
	}}
}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}:[a-z][a-z0-9-]{0,31}$`)

// Load reads a catalogue file (JSON: {"scopes":[{"key":…,"product":…,
// "resource":…,"description":…,"access":["read","read-write"]}]}) and checks it.
func Load(path string) (*Catalogue, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scope catalogue: %w", err)
	}
	var c Catalogue
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("scope catalogue %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("scope catalogue %s: %w", path, err)
	}
	return &c, nil
}

// Validate checks that every entry is well-formed and keys are unique.
func (c *Catalogue) Validate() error {
	if len(c.Entries) == 0 {
		return fmt.Errorf("no scopes")
	}
	seen := map[string]bool{}
	for i, e := range c.Entries {
		if !keyPattern.MatchString(e.Key) {
			return fmt.Errorf("scope %d: key %q is not <product>:<resource> in lower case", i+1, e.Key)
		}
		if seen[e.Key] {
			return fmt.Errorf("scope %q listed twice", e.Key)
		}
		seen[e.Key] = true
		if strings.TrimSpace(e.Product) == "" || strings.TrimSpace(e.Resource) == "" {
			return fmt.Errorf("scope %q: product and resource are required", e.Key)
		}
		if len(e.Access) == 0 {
			return fmt.Errorf("scope %q: access must list \"read\" and/or \"read-write\"", e.Key)
		}
		for _, a := range e.Access {
			if a != string(tokenservice.AccessRead) && a != string(tokenservice.AccessReadWrite) {
				return fmt.Errorf("scope %q: unknown access %q (use \"read\" or \"read-write\")", e.Key, a)
			}
		}
	}
	return nil
}

// Check returns the grants to store, sorted by key, for the access an admin
// chose per key, or EINVALID per field ("scope.<key>"). A key or level the
// catalogue no longer offers stays allowed as current has it, breaking no one.
func (c *Catalogue) Check(chosen map[string]tokenservice.Access, current []tokenservice.ScopeGrant) ([]tokenservice.ScopeGrant, error) {
	had := map[string]tokenservice.Access{}
	for _, g := range current {
		had[g.Key] = g.Access
	}
	fields := map[string]string{}
	var out []tokenservice.ScopeGrant
	for key, a := range chosen {
		if !a.Valid() {
			fields["scope."+key] = "Choose No access, Read or Read & Write."
			continue
		}
		e, ok := c.Lookup(key)
		switch {
		case !ok && had[key] == "":
			fields["scope."+key] = "This scope does not exist."
			continue
		case !ok && a != tokenservice.AccessNone && a != had[key]:
			fields["scope."+key] = "This scope is retired: keep its current access or remove it."
			continue
		case ok && !e.Offers(a) && a != had[key]:
			fields["scope."+key] = fmt.Sprintf("%s %s does not offer %s access.", e.Product, e.Resource, a.Label())
			continue
		}
		if a != tokenservice.AccessNone {
			out = append(out, tokenservice.ScopeGrant{Key: key, Access: a})
		}
	}
	if len(fields) > 0 {
		return nil, &tokenservice.Error{Code: tokenservice.EINVALID, Message: "Some scopes are not valid.", Fields: fields}
	}
	slices.SortFunc(out, func(a, b tokenservice.ScopeGrant) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
