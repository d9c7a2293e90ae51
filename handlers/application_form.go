package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/views"
)

// applicationForm is what the Add and Edit forms post.
type applicationForm struct {
	Name    string
	Version int
	FormKey string                         // the submission id (see newFormKey)
	Seen    int64                          // Edit: the application's newest event when the form was opened
	Access  map[string]tokenservice.Access // by catalogue key, from "scope.<key>" fields
	// ConfirmedName is the name the admin chose to keep after the warning
	// that another application has it.
	ConfirmedName string
}

func parseApplicationForm(c echo.Context) (applicationForm, error) {
	params, err := c.FormParams()
	if err != nil {
		return applicationForm{}, tokenservice.Errorf(tokenservice.EINVALID, "The form could not be read.")
	}
	f := applicationForm{Name: params.Get("name"), FormKey: params.Get("_form"), ConfirmedName: params.Get("confirmed_name"), Access: map[string]tokenservice.Access{}}
	f.Version, _ = strconv.Atoi(params.Get("version"))
	f.Seen, _ = strconv.ParseInt(params.Get("seen"), 10, 64)
	for k, v := range params {
		if key, ok := strings.CutPrefix(k, "scope."); ok && len(v) > 0 {
			f.Access[key] = tokenservice.Access(v[0])
		}
	}
	return f, nil
}

// input is what the operation is asked to check and save.
func (f applicationForm) input() tokenservice.ApplicationInput {
	return tokenservice.ApplicationInput{Name: f.Name, Access: f.Access, ConfirmedName: f.ConfirmedName}
}

// invalidFields returns the messages per field of an EINVALID error, nil
// for any other error or one that names no field.
func invalidFields(err error) map[string]string {
	if e, ok := errors.AsType[*tokenservice.Error](err); ok && e.Code == tokenservice.EINVALID && len(e.Fields) > 0 {
		return e.Fields
	}
	return nil
}

// formView builds the Add/Edit page: one row per catalogue entry, plus a row
// for every retired scope the application still has.
func (h *Applications) formView(f applicationForm, current []tokenservice.ScopeGrant, errs map[string]string) views.ApplicationForm {
	v := views.ApplicationForm{Name: f.Name, Version: f.Version, FormKey: f.FormKey, Seen: f.Seen, Errors: errs, TokenLifetime: h.ttl}
	choice := func(a tokenservice.Access, label string, chosen tokenservice.Access) views.Choice {
		return views.Choice{Value: string(a), Label: label, Checked: a == chosen}
	}
	had := grantsToAccess(current)
	for _, e := range h.catalogue.Entries {
		chosen := f.Access[e.Key]
		if chosen == "" {
			chosen = tokenservice.AccessNone
		}
		row := views.ScopeRow{Key: e.Key, Product: e.Product, Resource: e.Resource, Description: e.Description, Error: errs["scope."+e.Key],
			Had: string(had[e.Key])}
		for _, a := range e.Choices() {
			row.Choices = append(row.Choices, choice(a, a.Label(), chosen))
		}
		// The catalogue may no longer offer the level the application has:
		// it keeps it until an admin changes it.
		if a := had[e.Key]; a != "" && !e.Offers(a) {
			row.Choices = append(row.Choices, choice(a, "Keep "+a.Label()+" (retired)", chosen))
		}
		v.Rows = append(v.Rows, row)
	}
	for _, g := range current {
		if _, ok := h.catalogue.Lookup(g.Key); ok {
			continue
		}
		chosen := f.Access[g.Key]
		if chosen == "" {
			chosen = g.Access
		}
		v.Rows = append(v.Rows, views.ScopeRow{
			Key: g.Key, Product: g.Key, Resource: "", Retired: true, Error: errs["scope."+g.Key], Had: string(g.Access),
			Description: "This scope was removed from the catalogue. The application keeps it until you remove it.",
			Choices: []views.Choice{
				choice(tokenservice.AccessNone, "Remove", chosen),
				choice(g.Access, "Keep "+g.Access.Label(), chosen),
			},
		})
	}
	// An unknown key posted by a forged form is shown with its error too.
	for k := range errs {
		key, ok := strings.CutPrefix(k, "scope.")
		if !ok {
			continue
		}
		if _, known := h.catalogue.Lookup(key); known || hasGrant(current, key) {
			continue
		}
		v.Rows = append(v.Rows, views.ScopeRow{Key: key, Product: key, Description: "Unknown scope.", Error: errs[k],
			Choices: []views.Choice{choice(tokenservice.AccessNone, "No access", tokenservice.AccessNone)}})
	}
	return v
}

func hasGrant(grants []tokenservice.ScopeGrant, key string) bool {
	for _, g := range grants {
		if g.Key == key {
			return true
		}
	}
	return false
}

func grantsToAccess(grants []tokenservice.ScopeGrant) map[string]tokenservice.Access {
	m := map[string]tokenservice.Access{}
	for _, g := range grants {
		m[g.Key] = g.Access
	}
	return m
}

// maxConflictChanges is how many of the changes made since the form was
// opened a lost edit lists; the form links to the rest.
const maxConflictChanges = 20

// renderForm renders the whole page, or only the form for htmx.
func renderForm(c echo.Context, status int, v views.ApplicationForm) error {
	if isHTMX(c) {
		return render(c, status, views.ApplicationFormFragment(v))
	}
	return render(c, status, views.ApplicationFormPage(v))
}

// newApplication is the Add Application page.
func (h *Applications) newApplication(c echo.Context) error {
	return renderForm(c, http.StatusOK, h.formView(applicationForm{FormKey: newFormKey()}, nil, nil))
}

// createApplication registers an application and shows its details, where
// the new Client Secret can be copied during the reveal window.
func (h *Applications) createApplication(c echo.Context) error {
	f, err := parseApplicationForm(c)
	if err != nil {
		return err
	}
	user := userOf(c)
	app, _, err := h.ops.CreateApplication(c.Request().Context(), principalOf(c),
		tokenservice.CreateApplicationInput{ApplicationInput: f.input(), FormKey: f.FormKey})
	if errs := invalidFields(err); errs != nil {
		return renderForm(c, http.StatusUnprocessableEntity, h.formView(f, nil, errs))
	}
	if err == nil {
		h.logger.Info("application created", append(logAttrs(c), "client_id", app.ClientID, "account", app.AccountID, "by", user.Email)...)
		noteWarning(c, h.scopeWarning(nil, app))
		if err := setJustAdded(c, app.ClientID); err != nil {
			return err
		}
	}
	return finishChange(c, err, outcome{
		done: func() (string, string) {
			return "Application registered. Copy the Client Secret now: it can be viewed for " + windowText(h.window) + " only.", "/applications/" + app.ClientID
		},
	})
}

// editApplication is the Edit Application page.
func (h *Applications) editApplication(c echo.Context) error {
	// The newest event first, then the application: a change committed
	// between the two reads is then listed if this edit conflicts with it.
	seen, err := h.newestEvent(c, c.Param("client_id"))
	if err != nil {
		return err
	}
	app, err := h.appOf(c)
	if err != nil {
		return err
	}
	v := h.formView(applicationForm{Name: app.Name, Version: app.Version, FormKey: newFormKey(), Seen: seen, Access: grantsToAccess(app.Scopes)}, app.Scopes, nil)
	v.Edit, v.ClientID = true, app.ClientID
	return renderForm(c, http.StatusOK, v)
}

// updateApplication saves the Edit form against the version it was made
// from: if someone saved in between, nothing is overwritten; the form comes
// back with the user's input and what the other person changed.
func (h *Applications) updateApplication(c echo.Context) error {
	id, err := clientIDParam(c)
	if err != nil {
		return err
	}
	ctx, user := c.Request().Context(), userOf(c)
	f, err := parseApplicationForm(c)
	if err != nil {
		// Not the account's application: not found, whatever was posted.
		if _, gerr := h.store.GetApplication(ctx, user.AccountID, id); gerr != nil {
			return gerr
		}
		return err
	}
	// What it had, to say what removing a scope means; the version check
	// below makes sure it is what the update replaced.
	before, err := h.store.GetApplication(ctx, user.AccountID, id)
	if err != nil {
		return err
	}
	updated, err := h.ops.UpdateApplication(ctx, principalOf(c), tokenservice.UpdateApplicationInput{
		ClientID: id, Version: f.Version, ApplicationInput: f.input(), FormKey: f.FormKey,
	})
	if errs := invalidFields(err); errs != nil {
		app, gerr := h.store.GetApplication(ctx, user.AccountID, id)
		if gerr != nil {
			return gerr
		}
		v := h.formView(f, app.Scopes, errs)
		v.Edit, v.ClientID = true, app.ClientID
		return renderForm(c, http.StatusUnprocessableEntity, v)
	}
	if tokenservice.ErrorCode(err) == tokenservice.ECONFLICT {
		return h.lostEdit(c, id, f)
	}
	if err == nil {
		h.logger.Info("application updated", append(logAttrs(c), "client_id", id, "by", user.Email)...)
		if before.Version+1 == updated.Version {
			noteWarning(c, h.scopeWarning(before, updated))
		}
	}
	return finishChange(c, err, outcome{
		duplicate: "/applications/" + id,
		done: func() (string, string) {
			return "Changes saved.", "/applications/" + updated.ClientID
		},
	})
}

// lostEdit brings the Edit form back with the user's input and what changed
// since they opened it: the first maxConflictChanges changes, and where the
// rest are.
func (h *Applications) lostEdit(c echo.Context, id string, f applicationForm) error {
	ctx, user := c.Request().Context(), userOf(c)
	latest, err := h.store.GetApplication(ctx, user.AccountID, id)
	if err != nil {
		return err
	}
	changes, err := h.store.ListEvents(ctx, user.AccountID, tokenservice.EventFilter{ClientID: id, After: f.Seen, Limit: maxConflictChanges})
	if err != nil {
		return err
	}
	f.Version, f.FormKey = latest.Version, newFormKey()
	if len(changes.Events) > 0 {
		f.Seen = changes.Events[0].ID
	}
	v := h.formView(f, latest.Scopes, nil)
	v.Edit, v.ClientID = true, id
	v.Conflict = &views.ConflictInfo{UpdatedBy: latest.UpdatedBy, UpdatedAt: latest.UpdatedAt, Name: latest.Name, Scopes: h.summaries(latest.Scopes),
		More: changes.Newer != 0}
	for _, e := range changes.Events {
		if e.Action == tokenservice.ActionSecretRevealed || e.Action == tokenservice.ActionSecretCopied {
			continue // views, not changes
		}
		v.Conflict.Changes = append(v.Conflict.Changes, activityRow(h.catalogue, e))
	}
	return renderForm(c, http.StatusConflict, v)
}

// newestEvent is the id of the application's newest event, 0 if none.
func (h *Applications) newestEvent(c echo.Context, clientID string) (int64, error) {
	page, err := h.store.ListEvents(c.Request().Context(), userOf(c).AccountID, tokenservice.EventFilter{ClientID: clientID, Limit: 1})
	if err != nil || len(page.Events) == 0 {
		return 0, err
	}
	return page.Events[0].ID, nil
}

// scopeWarning says what a saved change means for tokens: none at all
// without a scope, and issued tokens keeping a removed scope until they
// expire (introspection refuses it at once). "" when nothing needs saying.
func (h *Applications) scopeWarning(before, after *tokenservice.Application) string {
	if len(after.Scopes) == 0 {
		return "“" + after.Name + "” has no scope, so it will not get access tokens until it has one. Edit it to choose its access."
	}
	if before == nil {
		return ""
	}
	var removed []string
	for _, s := range before.Scopes {
		for _, o := range s.OAuthScopes() {
			if !slices.ContainsFunc(after.Scopes, func(g tokenservice.ScopeGrant) bool { return g.Confers(o) }) {
				removed = append(removed, o)
			}
		}
	}
	if len(removed) == 0 {
		return ""
	}
	it := "it"
	if len(removed) > 1 {
		it = "them"
	}
	return "Removed " + strings.Join(removed, ", ") + ". Introspection stops granting " + it + " now; tokens issued before keep " + it +
		" until they expire (within " + views.Duration(h.ttl) + ") for APIs that check tokens themselves."
}
