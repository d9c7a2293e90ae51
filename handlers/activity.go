package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/scope"
	"tokenservice/secret"
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

// activityQuery is what the Activity page and its export are asked for.
type activityQuery struct {
	filter tokenservice.EventFilter
	format string // export: "csv" or "jsonl"
}

// parseActivityQuery reads the filter of the Activity page. Invalid values
// are dropped: a stale or edited link shows the trail unfiltered or from
// its newest event rather than an error.
func parseActivityQuery(q url.Values) activityQuery {
	var a activityQuery
	if action := tokenservice.Action(q.Get("action")); action.Valid() {
		a.filter.Action = action
	}
	if actor := q.Get("actor"); len(actor) <= 255 && utf8.ValidString(actor) && !strings.ContainsRune(actor, 0) {
		a.filter.Actor = actor
	}
	if id := q.Get("application"); secret.ValidClientID(id) {
		a.filter.ClientID = id
	}
	if n, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && n > 0 {
		a.filter.Before = n
	}
	if n, err := strconv.ParseInt(q.Get("after"), 10, 64); err == nil && n > 0 {
		a.filter.After = n
	}
	switch f := q.Get("format"); f {
	case "csv", "jsonl":
		a.format = f
	}
	return a
}

// values is the query string of the filter, without the page cursor.
func (a activityQuery) values() url.Values {
	v := url.Values{}
	if a.filter.Action != "" {
		v.Set("action", string(a.filter.Action))
	}
	if a.filter.Actor != "" {
		v.Set("actor", a.filter.Actor)
	}
	return v
}

// activity is the account's audit trail.
func (h *Activity) activity(c echo.Context) error {
	q := parseActivityQuery(c.QueryParams())
	q.filter.ClientID = "" // one application's trail has its own page
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
	q := parseActivityQuery(c.QueryParams())
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

func (h *Activity) renderActivity(c echo.Context, q activityQuery, p views.ActivityPage) error {
	ctx, account := c.Request().Context(), userOf(c).AccountID
	page, err := h.store.ListEvents(ctx, account, q.filter)
	if err != nil {
		return err
	}
	p.Filtered = q.filter.Action != "" || q.filter.Actor != ""
	p.Actions = []views.Option{{Value: "", Label: "All actions"}}
	for _, a := range tokenservice.Actions {
		if p.ClientID != "" && (a == tokenservice.ActionSignedIn || a == tokenservice.ActionSignedOut) {
			continue
		}
		p.Actions = append(p.Actions, views.Option{Value: string(a), Label: a.Label(), Selected: a == q.filter.Action})
	}
	for _, e := range page.Events {
		p.Rows = append(p.Rows, activityRow(h.catalogue, e))
	}
	v := q.values()
	if page.Newer != 0 {
		p.NewestURL = p.Path + "?" + v.Encode()
		p.NewerURL = p.Path + "?" + with(v, "after", page.Newer).Encode()
	}
	if page.Older != 0 {
		p.OlderURL = p.Path + "?" + with(v, "before", page.Older).Encode()
	}
	export := q.values()
	if p.ClientID != "" {
		export.Set("application", p.ClientID)
	}
	export.Set("format", "csv")
	p.CSVURL = "/activity/export?" + export.Encode()
	export.Set("format", "jsonl")
	p.JSONLURL = "/activity/export?" + export.Encode()
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "activity-table" {
		// The filters swap the table and the export links; the rest of the
		// page, and the people it offers, stay.
		return render(c, http.StatusOK, templ.Join(views.ActivityTable(p), views.ActivityExport(p)))
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
	return render(c, http.StatusOK, views.Activity(p))
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
