package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/scope"
	"tokenservice/views"
)

// Activity serves an account's audit trail, and one application's, to the
// account's admins: the page and its export.
type Activity struct {
	store     Store
	catalogue *scope.Catalogue
	now       func() time.Time
	logger    interface{ Info(string, ...any) }
}

func newActivity(cfg Config) *Activity {
	return &Activity{store: cfg.Store, catalogue: cfg.Catalogue, now: cfg.Now, logger: cfg.Logger}
}

// activity is the account's audit trail, or one application's events in
// it, by the application field.
func (h *Activity) activity(c echo.Context) error {
	q := parseActivityQuery(c.QueryParams(), h.now())
	if err := h.resolveApplication(c, &q); err != nil {
		return err
	}
	return h.renderActivity(c, q, views.ActivityPage{Title: "Activity", Path: "/activity"})
}

// applicationActivity is one application's trail, also once it is deleted.
// Another account's application is not found, like a missing one.
func (h *Activity) applicationActivity(c echo.Context) error {
	id, err := clientIDParam(c)
	if err != nil {
		return err
	}
	p := views.ActivityPage{ClientID: id, Path: "/applications/" + id + "/activity"}
	if p.AppName, p.AppExists, err = h.applicationName(c, id); err != nil {
		return err
	}
	p.Title = "Activity of “" + p.AppName + "”"
	qs := url.Values{}
	for k, v := range c.QueryParams() {
		if k != "application" { // the page's own: it has no such field
			qs[k] = v
		}
	}
	q := parseActivityQuery(qs, h.now())
	q.filter.ClientID = id
	return h.renderActivity(c, q, p)
}

// applicationName is the name of the account's application, or the last
// name its trail has once it is deleted; ENOTFOUND if the account never had it.
func (h *Activity) applicationName(c echo.Context, id string) (name string, exists bool, err error) {
	ctx, account := c.Request().Context(), userOf(c).AccountID
	if app, err := h.store.GetApplication(ctx, account, id); err == nil {
		return app.Name, true, nil
	} else if tokenservice.ErrorCode(err) != tokenservice.ENOTFOUND {
		return "", false, err
	}
	name, err = h.store.ApplicationNameInTrail(ctx, account, id)
	return name, false, err
}

// resolveApplication turns the application field of the account's page
// into a Client ID: one that is already, or the one application of the
// account with exactly that name; anything else is a problem to show.
func (h *Activity) resolveApplication(c echo.Context, q *activityQuery) error {
	name := q.application
	if name == "" || q.filter.ClientID != "" || q.problem != "" {
		return nil
	}
	page, err := h.store.ListApplications(c.Request().Context(), userOf(c).AccountID,
		tokenservice.ListOptions{Filter: name, Limit: tokenservice.MaxListLimit})
	if err != nil && tokenservice.ErrorCode(err) != tokenservice.EINVALID {
		return err
	}
	var ids []string
	if page != nil {
		for _, a := range page.Applications {
			if strings.EqualFold(a.Name, name) {
				ids = append(ids, a.ClientID)
			}
		}
	}
	switch len(ids) {
	case 1:
		q.filter.ClientID = ids[0]
	case 0:
		q.problem = "No application in your account is called “" + name + "”. Choose one from the suggestions, or enter its Client ID."
	default:
		q.problem = strconv.Itoa(len(ids)) + " applications are called “" + name + "”. Choose one from the suggestions, which show their Client IDs."
	}
	return nil
}

func (h *Activity) renderActivity(c echo.Context, q activityQuery, p views.ActivityPage) error {
	ctx, account := c.Request().Context(), userOf(c).AccountID
	status := http.StatusOK
	if q.problem != "" {
		// Nothing rather than events the person did not ask for.
		p.Problem, status = q.problem, http.StatusUnprocessableEntity
	} else {
		page, err := h.store.ListEvents(ctx, account, q.filter)
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			p.Rows = append(p.Rows, activityRow(h.catalogue, e))
		}
		v := q.values()
		if p.ClientID == "" && q.filter.ClientID != "" {
			v.Set("application", q.filter.ClientID)
		}
		if page.Newer != 0 {
			p.NewestURL = p.Path + "?" + v.Encode()
			p.NewerURL = p.Path + "?" + with(v, "after", page.Newer).Encode()
		}
		if page.Older != 0 {
			p.OlderURL = p.Path + "?" + with(v, "before", page.Older).Encode()
		}
		export := q.values()
		if id := q.filter.ClientID; id != "" {
			export.Set("application", id)
		}
		export.Set("format", "csv")
		p.CSVURL = "/activity/export?" + export.Encode()
		export.Set("format", "jsonl")
		p.JSONLURL = "/activity/export?" + export.Encode()
		p.RangeSummary = rangeSummary(q.filter)
	}
	p.Filtered = q.filter.Action != "" || q.filter.Actor != "" || q.span != "" || (p.ClientID == "" && q.filter.ClientID != "")
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "activity-table" {
		// The filters swap the table and the export links; the rest of the
		// page, and the people it offers, stay.
		return render(c, status, templ.Join(views.ActivityTable(p), views.ActivityExport(p)))
	}
	p.Actions = []views.Option{{Value: "", Label: "All actions"}}
	for _, a := range tokenservice.Actions {
		if p.ClientID != "" && (a == tokenservice.ActionSignedIn || a == tokenservice.ActionSignedOut || a == tokenservice.ActionAccessRefused) {
			continue
		}
		p.Actions = append(p.Actions, views.Option{Value: string(a), Label: a.Label(), Selected: a == q.filter.Action})
	}
	for _, r := range activityRanges {
		p.Ranges = append(p.Ranges, views.Option{Value: r.value, Label: r.label, Selected: r.value == q.span})
	}
	p.From, p.To, p.TimeZone = q.from, q.to, q.tz
	if p.ClientID == "" {
		p.Application = q.application
	}
	actors, err := h.store.EventActors(ctx, account)
	if err != nil {
		return err
	}
	p.Actors = []views.Option{{Value: "", Label: "Everyone"}}
	for _, a := range actors {
		label := a.Email
		if label == "" {
			label = a.Subject
		}
		p.Actors = append(p.Actors, views.Option{Value: a.Subject, Label: label, Selected: a.Subject == q.filter.Actor})
	}
	return render(c, status, views.Activity(p))
}

// rangeSummary says, in UTC as the trail shows times, which events the time
// range keeps; "" for all time.
func rangeSummary(f tokenservice.EventFilter) string {
	const layout = "Jan 2, 2006 15:04 UTC"
	switch {
	case f.From.IsZero() && f.To.IsZero():
		return ""
	case f.To.IsZero():
		return "Events since " + f.From.UTC().Format(layout)
	case f.From.IsZero():
		return "Events before " + f.To.UTC().Format(layout)
	}
	return "Events from " + f.From.UTC().Format(layout) + " to " + f.To.UTC().Format(layout)
}

// suggestApplications is the application field's suggestions: the
// account's applications whose name or Client ID contains what was typed.
func (h *Activity) suggestApplications(c echo.Context) error {
	typed := strings.TrimSpace(c.QueryParam("application"))
	var opts []views.Option
	if typed != "" && plainText(typed, 255) {
		page, err := h.store.ListApplications(c.Request().Context(), userOf(c).AccountID,
			tokenservice.ListOptions{Filter: typed, Limit: 20})
		if err != nil && tokenservice.ErrorCode(err) != tokenservice.EINVALID {
			return err
		}
		if page != nil {
			for _, a := range page.Applications {
				opts = append(opts, views.Option{Value: a.ClientID, Label: a.Name})
			}
		}
	}
	return render(c, http.StatusOK, views.ApplicationSuggestions(opts))
}

// activityRow is one event as the trail and a lost edit show it.
func activityRow(cat *scope.Catalogue, e *tokenservice.Event) views.ActivityRow {
	return views.ActivityRow{
		ID: e.ID, At: e.At, Action: e.Action.Label(), Who: e.Actor.Name(), Subject: e.Actor.Subject,
		ClientID: e.ClientID, Application: e.ApplicationName, Details: eventDetails(cat, e),
		Address: e.Actor.Address, UserAgent: e.Actor.UserAgent,
	}
}

// with returns a copy of v with key set to n.
func with(v url.Values, key string, n int64) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	out.Set(key, strconv.FormatInt(n, 10))
	return out
}

// eventDetails describes what an event changed, one line per change.
func eventDetails(cat *scope.Catalogue, e *tokenservice.Event) []string {
	var out []string
	switch e.Action {
	case tokenservice.ActionRenamed:
		out = append(out, "Renamed from “"+e.OldName+"” to “"+e.ApplicationName+"”")
	case tokenservice.ActionCreated:
		if len(e.Scopes) == 0 {
			out = append(out, "No scopes")
		}
		for _, g := range e.Scopes {
			out = append(out, scopeLabel(cat, g.Key)+": "+g.Access.Label())
		}
	case tokenservice.ActionScopesChanged:
		before := grantsToAccess(e.OldScopes)
		after := grantsToAccess(e.Scopes)
		var keys []string
		for _, g := range e.OldScopes {
			keys = append(keys, g.Key)
		}
		for _, g := range e.Scopes {
			if _, ok := before[g.Key]; !ok {
				keys = append(keys, g.Key)
			}
		}
		for _, k := range keys {
			if before[k] != after[k] {
				out = append(out, scopeLabel(cat, k)+": "+accessLabel(before[k])+" → "+accessLabel(after[k]))
			}
		}
	case tokenservice.ActionCredentialAdded, tokenservice.ActionCredentialRevoked, tokenservice.ActionCredentialExpired,
		tokenservice.ActionCredentialFirstUsed, tokenservice.ActionCredentialLeaked, tokenservice.ActionSecretRotated:
		out = append(out, e.CredentialKind.Label()+" "+e.Credential)
		switch {
		case e.Action == tokenservice.ActionCredentialAdded && e.ExpiresAt.IsZero():
			out = append(out, "Does not expire")
		case e.Action == tokenservice.ActionCredentialAdded:
			out = append(out, "Expires "+e.ExpiresAt.UTC().Format(eventTime))
		case e.Action == tokenservice.ActionSecretRotated && !e.RevokeAt.After(e.At):
			out = append(out, "Old secret revoked at once")
		case e.Action == tokenservice.ActionSecretRotated:
			out = append(out, "Old secret works until "+e.RevokeAt.UTC().Format(eventTime)+" (grace period of "+views.Duration(e.RevokeAt.Sub(e.At))+")")
		case e.Action == tokenservice.ActionCredentialRevoked && e.Reason != "":
			out = append(out, "Revoked by "+e.Reason.Label())
		}
	}
	if e.Action == tokenservice.ActionTestToken {
		out = append(out, "With "+strings.ToLower(e.CredentialKind.Label())+" "+e.Credential, "Expires "+e.ExpiresAt.UTC().Format(eventTime))
	}
	if e.Action == tokenservice.ActionAccessRefused {
		out = append(out, "Refused: "+e.Actor.Name()+" tried to "+refusedWhat(e.Method, e.Route)+" ("+e.Method+" "+e.Path+")",
			"Reason: "+e.Refused.Label())
	}
	if e.Action == tokenservice.ActionCreated && !e.ExpiresAt.IsZero() {
		out = append(out, "Client secret expires "+e.ExpiresAt.UTC().Format(eventTime))
	}
	if e.Action == tokenservice.ActionSettingsChanged && e.OldSettings != nil && e.Settings != nil {
		if e.OldSettings.MaxSecretLifetime != e.Settings.MaxSecretLifetime {
			out = append(out, "Maximum secret lifetime: "+views.Lifetime(e.OldSettings.MaxSecretLifetime)+" → "+views.Lifetime(e.Settings.MaxSecretLifetime))
		}
		if e.OldSettings.LeakAction != e.Settings.LeakAction {
			out = append(out, "Leaked secrets: "+views.LeakActionLabel(e.OldSettings.LeakAction)+" → "+views.LeakActionLabel(e.Settings.LeakAction))
		}
	}
	return out
}

// eventTime is how event details write a moment.
const eventTime = "2 Jan 2006 15:04 UTC"

func accessLabel(a tokenservice.Access) string {
	if a == "" {
		return tokenservice.AccessNone.Label()
	}
	return a.Label()
}

// scopeLabel names a catalogue key the way the forms do, or the key itself
// once the catalogue no longer has it.
func scopeLabel(cat *scope.Catalogue, key string) string {
	if e, ok := cat.Lookup(key); ok {
		return e.Product + " (" + key + ")"
	}
	return key
}
