package views

import (
	"net/url"
	"time"

	"tokenservice"
)

// ApplicationRow is one line of the Applications list.
type ApplicationRow struct {
	Name       string
	ClientID   string
	Scopes     []ScopeSummary
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never
	SecretEnds time.Time // the earliest end of a live secret; zero: none
	Now        time.Time
}

// SecretWarning is the list's warning about the application's secret, ""
// when none ends within tokenservice.ExpiryWarning.
func (r ApplicationRow) SecretWarning() string {
	switch {
	case r.SecretEnds.IsZero() || r.SecretEnds.Sub(r.Now) > tokenservice.ExpiryWarning:
		return ""
	case !r.SecretEnds.After(r.Now):
		return "A secret has stopped working"
	}
	return "A secret stops working " + Until(r.Now, r.SecretEnds)
}

// ScopeSummary names one granted scope compactly, e.g. "Incident Response · Read & Write".
type ScopeSummary struct {
	Label   string
	Retired bool
}

// ApplicationsPage is the home page: the account's applications.
type ApplicationsPage struct {
	AccountName  string
	Filter       string
	Rows         []ApplicationRow
	Total        int
	TotalCapped  bool   // Total is a lower bound ("1,000+")
	Offset       int    // position of the first row in the list, from 0
	NextURL      string // "" on the last page
	PrevURL      string // "" on the first page
	FirstURL     string // "" on the first page
	AccountEmpty bool   // the account has no applications at all
	Flash        string
	View         string     // "" or "expiring"
	Sort         string     // the sort parameter: "name", "-name", "created", "-created", "last_used", "-last_used"
	Query        url.Values // the filter, view and sort, as the page's links keep them
	Expiring     int        // applications with a secret that expires within tokenservice.ExpiryWarning
	// JustAdded is the application the admin registered last, shown above
	// the table (wherever it falls in the list) and highlighted in it.
	JustAdded *ApplicationRow
}

// IsNew reports whether r is the application just added.
func (p ApplicationsPage) IsNew(r ApplicationRow) bool {
	return p.JustAdded != nil && p.JustAdded.ClientID == r.ClientID
}

// ListViews are the views of the Applications list.
var ListViews = []Option{
	{Value: "", Label: "All applications"},
	{Value: "last_used", Label: "Least recently used first"},
	{Value: "expiring", Label: "Secrets expiring soon"},
}

// ScopeRow is one catalogue entry (or retired grant) on the Add/Edit form.
type ScopeRow struct {
	Key         string
	Product     string
	Resource    string
	Description string
	Choices     []Choice
	Retired     bool
	Error       string
	Had         string // Edit only: the access the application has now ("" for none)
}

// Choice is one access level offered for a scope row.
type Choice struct {
	Value   string
	Label   string
	Checked bool
}

// ApplicationForm is the Add Application and Edit Application page.
type ApplicationForm struct {
	Edit     bool   // false: Add Application
	ClientID string // Edit only
	Version  int    // Edit only: the version the edit is made against
	FormKey  string // the submission id: a second post of the form changes nothing
	Seen     int64  // Edit only: the newest event of the application when the form was opened
	Name     string
	Rows     []ScopeRow
	Errors   map[string]string // per field: "name", "scope.<key>", "form"
	Conflict *ConflictInfo     // someone else saved first
	// TokenLifetime is how long issued tokens keep a scope that is removed.
	TokenLifetime time.Duration
}

// ConflictInfo tells the loser of a concurrent edit what the other person saved.
type ConflictInfo struct {
	UpdatedBy string
	UpdatedAt time.Time
	Name      string
	Scopes    []ScopeSummary
	Changes   []ActivityRow // what was done since the form was opened, newest first
	More      bool          // Changes are the first of more: the rest are on the application's Activity
}

// ApplicationDetails is the Application Details page.
type ApplicationDetails struct {
	Name           string
	ClientID       string
	Scopes         []ScopeDetail
	CreatedAt      time.Time
	CreatedBy      string
	UpdatedAt      time.Time
	UpdatedBy      string
	Secret         SecretPanel
	Credentials    []CredentialRow // the working ones and the last few revoked, newest first
	OlderRevoked   []CredentialRow // revoked before those, behind a disclosure
	RotateURL      string          // "" when a rotation is not possible now (two live secrets)
	RotateBlocked  string          // why not, when RotateURL is ""
	NoLiveSecret   bool            // every credential is revoked or expired
	Issuer         string
	TokenURL       string
	JWKSURL        string
	IntrospectURL  string
	RevokeURL      string
	Audience       string        // "aud" of its tokens
	TokenLifetime  time.Duration // of its tokens
	Test           TestTokenPanel
	ScopeExample   string    // one OAuth scope of the application, "" if it has none
	TokensLastDay  int       // tokens issued in the last 24 hours
	LastTokenAt    time.Time // zero: never
	Flash          string
	FlashWarning   string // a consequence of the change just saved
	ReadOnlyNotice bool
}

// ScopeDetail is one granted scope on the details page.
type ScopeDetail struct {
	Product     string
	Resource    string
	Access      string
	OAuthScopes []string
	Retired     bool
}

// SecretPanel is the Client Secret part of the details page.
type SecretPanel struct {
	ClientID    string
	Revealable  bool   // inside the reveal window
	SecondsLeft int    // of the reveal window
	Plaintext   string // set only when the admin asked to show it
	CanView     bool   // admins only
}

// Confirm is a confirmation page for a destructive action.
type Confirm struct {
	Title       string
	AppName     string
	ClientID    string
	Message     string
	Consequence string
	Action      string // POST URL
	Button      string
	Version     int
	FormKey     string // the submission id: a second post of the form changes nothing
	CancelURL   string
}

// ErrorPage is shown for 403, 404, 500 and friends.
type ErrorPage struct {
	Status    int
	Title     string
	Message   string
	RequestID string
	SignOut   bool // offer to sign out (e.g. a user without an account)
}

// ActivityPage is the audit trail of the account, or of one application.
type ActivityPage struct {
	Title     string
	Path      string // the page's own path, for the filter form
	ClientID  string // one application's trail; "" for the account's
	AppName   string
	AppExists bool // false once the application is deleted
	Filtered  bool
	Actions   []Option
	Actors    []Option
	// Ranges are the time range's choices; From, To and TimeZone a custom
	// range as typed (datetime-local values, an IANA zone or "" for UTC).
	Ranges             []Option
	From, To, TimeZone string
	// RangeSummary says in UTC which times the range keeps; "" for all.
	RangeSummary string
	// Application is the account page's application field as typed.
	Application string
	// Problem says why the filter cannot be applied; no events are shown.
	Problem   string
	Rows      []ActivityRow
	NewestURL string // "" on the newest page
	NewerURL  string
	OlderURL  string // "" on the oldest page
	CSVURL    string
	JSONLURL  string
}

// Option is one choice of a select.
type Option struct {
	Value    string
	Label    string
	Selected bool
}

// ActivityRow is one event of the trail.
type ActivityRow struct {
	ID          int64
	At          time.Time
	Action      string
	Who         string
	Subject     string
	ClientID    string
	Application string
	Details     []string
	Address     string
	UserAgent   string
}

// SortOptions are the list's orders, for the Sort by menu of small
// screens, where the table's headers are hidden.
var SortOptions = []Option{
	{Value: "name", Label: "Name, A to Z"},
	{Value: "-name", Label: "Name, Z to A"},
	{Value: "-created", Label: "Newest first"},
	{Value: "created", Label: "Oldest first"},
	{Value: "-last_used", Label: "Most recently used first"},
	{Value: "last_used", Label: "Least recently used first"},
}

// SortColumn is a sortable column header of the Applications list.
type SortColumn struct {
	Label    string
	AriaSort string // "ascending", "descending" or "" when the list is not in its order
	URL      string // the list in the column's order, or the reverse when already in it
	Next     string // what following the link does, for screen readers: "sort Z to A"
}

// sortColumns are the list's sortable columns: their parameter ascending,
// descending, and the order a first click gives, with how each reads.
var sortColumns = map[string]struct {
	asc, desc, first, ascText, descText string
}{
	"Name":      {"name", "-name", "name", "A to Z", "Z to A"},
	"Created":   {"created", "-created", "-created", "oldest first", "newest first"},
	"Last used": {"last_used", "-last_used", "-last_used", "never or least recently used first", "most recently used first"},
}

// Column is the header of a sortable column of the list (Name, Created,
// Last used).
func (p ApplicationsPage) Column(label string) SortColumn {
	c := sortColumns[label]
	col := SortColumn{Label: label}
	next := c.first
	switch p.Sort {
	case c.asc:
		col.AriaSort, next = "ascending", c.desc
	case c.desc:
		col.AriaSort, next = "descending", c.asc
	}
	col.Next = "sort " + c.ascText
	if next == c.desc {
		col.Next = "sort " + c.descText
	}
	q := url.Values{}
	for k, vs := range p.Query {
		q[k] = vs
	}
	q.Del("sort")
	if next != "name" {
		q.Set("sort", next)
	}
	col.URL = "/applications"
	if len(q) > 0 {
		col.URL += "?" + q.Encode()
	}
	return col
}

// RangeText says where the page is in the list: "51–62 of 62", "51–100 of
// 1,000+"; "" when the list fits one page.
func (p ApplicationsPage) RangeText() string {
	if len(p.Rows) == 0 || (p.Offset == 0 && p.NextURL == "" && p.PrevURL == "") {
		return ""
	}
	total := thousands(p.Total)
	if p.TotalCapped {
		total += "+"
	}
	return thousands(p.Offset+1) + "–" + thousands(p.Offset+len(p.Rows)) + " of " + total
}

// thousands writes n with a comma every three digits: 1,000.
func thousands(n int) string {
	s := itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// ScopeCount is the compact summary of a row's scopes: the one scope's
// label, "3 scopes", or "No scopes".
func ScopeCount(scopes []ScopeSummary) string {
	switch len(scopes) {
	case 0:
		return "No scopes"
	case 1:
		return scopes[0].Label
	}
	return itoa(len(scopes)) + " scopes"
}
