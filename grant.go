package tokenservice

// Access is the type of access an application has to one scope of the
// catalogue, as chosen on the Add and Edit Application pages.
type Access string

// The access levels. AccessReadWrite grants both the :read and the :write
// OAuth scope of a catalogue entry.
const (
	AccessNone      Access = "none"
	AccessRead      Access = "read"
	AccessReadWrite Access = "read-write"
)

// Valid reports whether a is one of the known access levels.
func (a Access) Valid() bool {
	switch a {
	case AccessNone, AccessRead, AccessReadWrite:
		return true
	}
	return false
}

// Label is the wording the portal shows for a.
func (a Access) Label() string {
	switch a {
	case AccessRead:
		return "Read"
	case AccessReadWrite:
		return "Read & Write"
	}
	return "No access"
}

// ScopeGrant is the access an application has to one catalogue entry, keyed
// like the catalogue: "<product>:<resource>", e.g. "forensics:account".
type ScopeGrant struct {
	Key    string
	Access Access
}

// OAuthScopes returns the OAuth scope strings a grant confers:
// read gives "<key>:read", read-write gives "<key>:read" and "<key>:write".
func (g ScopeGrant) OAuthScopes() []string {
	switch g.Access {
	case AccessRead:
		return []string{g.Key + ":read"}
	case AccessReadWrite:
		return []string{g.Key + ":read", g.Key + ":write"}
	}
	return nil
}

// Confers reports whether scope is one of OAuthScopes(), without building
// them: introspection asks it of every scope of every token.
func (g ScopeGrant) Confers(scope string) bool {
	n := len(g.Key)
	if len(scope) <= n || scope[:n] != g.Key || scope[n] != ':' {
		return false
	}
	switch scope[n+1:] {
	case "read":
		return g.Access == AccessRead || g.Access == AccessReadWrite
	case "write":
		return g.Access == AccessReadWrite
	}
	return false
}

// OAuthScopes returns every OAuth scope the grants confer, in their order.
func OAuthScopes(grants []ScopeGrant) []string {
	var out []string
	for _, g := range grants {
		out = append(out, g.OAuthScopes()...)
	}
	return out
}
