package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/session"
	"tokenservice/views"
)

// keyJustAdded is the session's Client ID of the application the admin
// registered last, highlighted on the next Applications page.
const keyJustAdded = "just_added"

// listSorts are the list's orders by their sort parameter; "name" is the
// default, also written as "".
var listSorts = map[string]string{
	"name": tokenservice.SortName, "-name": tokenservice.SortNameDesc,
	"created": tokenservice.SortCreated, "-created": tokenservice.SortCreatedDesc,
	"last_used": tokenservice.SortLastUsed, "-last_used": tokenservice.SortLastUsedDesc,
}

// listApplications shows the account's applications, filtered, sorted and
// paginated by keyset; the live filter gets only the table. A sort or
// cursor it does not know lists from the start.
func (h *Applications) listApplications(c echo.Context) error {
	user := userOf(c)
	filter := strings.TrimSpace(c.QueryParam("q"))
	if len([]rune(filter)) > 200 {
		filter = string([]rune(filter)[:200])
	}
	now := h.now()
	view := c.QueryParam("view")
	sortParam := c.QueryParam("sort")
	sort, ok := listSorts[sortParam]
	if !ok {
		sortParam = "name"
	}
	opt := tokenservice.ListOptions{Filter: filter, After: c.QueryParam("after"), Before: c.QueryParam("before"), Limit: 50, Sort: sort}
	switch view {
	case "last_used":
		// The view that came before the sortable columns: least recently used first.
		opt.Sort, sortParam, view = tokenservice.SortLastUsed, "last_used", ""
	case "expiring":
		opt.ExpiringBy = now.Add(tokenservice.ExpiryWarning)
	default:
		view = ""
	}
	if opt.After != "" && opt.Before != "" {
		opt.Before = ""
	}
	q := url.Values{}
	if filter != "" {
		q.Set("q", filter)
	}
	if view != "" {
		q.Set("view", view)
	}
	if sortParam != "name" {
		q.Set("sort", sortParam)
	}
	first := "/applications"
	if len(q) > 0 {
		first += "?" + q.Encode()
	}

	ctx := c.Request().Context()
	page, err := h.store.ListApplications(ctx, user.AccountID, opt)
	if tokenservice.ErrorCode(err) == tokenservice.EINVALID {
		return c.Redirect(http.StatusSeeOther, first)
	} else if err != nil {
		return err
	}
	p := views.ApplicationsPage{
		AccountName:  user.AccountName,
		Filter:       filter,
		Total:        min(page.Total, tokenservice.MaxListTotal),
		TotalCapped:  page.Total > tokenservice.MaxListTotal,
		AccountEmpty: filter == "" && opt.After == "" && opt.Before == "" && view == "" && len(page.Applications) == 0,
		View:         view,
		Sort:         sortParam,
		Offset:       page.Offset,
		Query:        q,
	}
	for _, a := range page.Applications {
		p.Rows = append(p.Rows, h.listRow(a, now))
	}
	if p.Expiring, err = h.store.CountExpiring(ctx, user.AccountID, now.Add(tokenservice.ExpiryWarning)); err != nil {
		return err
	}
	if page.Offset > 0 || page.Prev != "" {
		p.FirstURL = first
	}
	if page.Prev != "" {
		p.PrevURL = pageURL(q, "before", page.Prev)
	}
	if page.Next != "" {
		p.NextURL = pageURL(q, "after", page.Next)
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "app-table" {
		return render(c, http.StatusOK, views.ApplicationsTable(p))
	}
	p.Flash = popFlash(c)
	if id := popJustAdded(c); id != "" {
		// Another account's ID never comes from this session; a deleted
		// application is simply not shown.
		if app, err := h.store.GetApplication(ctx, user.AccountID, id); err == nil {
			row := h.listRow(app, now)
			p.JustAdded = &row
		}
	}
	return render(c, http.StatusOK, views.Applications(p))
}

// listRow is an application as the list shows it.
func (h *Applications) listRow(a *tokenservice.Application, now time.Time) views.ApplicationRow {
	return views.ApplicationRow{Name: a.Name, ClientID: a.ClientID, Scopes: h.summaries(a.Scopes), CreatedAt: a.CreatedAt,
		LastUsedAt: a.LastUsedAt, SecretEnds: a.SecretExpiresAt, Now: now}
}

// pageURL is the list's URL with q and one cursor.
func pageURL(q url.Values, param, cursor string) string {
	v := url.Values{}
	for k, vs := range q {
		v[k] = vs
	}
	v.Set(param, cursor)
	return "/applications?" + v.Encode()
}

// setJustAdded remembers the application the admin just registered, for
// the list to highlight the next time it is shown.
func setJustAdded(c echo.Context, clientID string) error {
	sess, _ := c.Get("session").(*sessions.Session)
	if sess == nil {
		return nil
	}
	sess.Values[keyJustAdded] = clientID
	if err := sess.Save(c.Request(), c.Response()); !errors.Is(err, session.ErrEnded) {
		return err
	}
	return nil
}

func popJustAdded(c echo.Context) string {
	sess, _ := c.Get("session").(*sessions.Session)
	if sess == nil {
		return ""
	}
	id, _ := sess.Values[keyJustAdded].(string)
	if id != "" {
		delete(sess.Values, keyJustAdded)
		_ = sess.Save(c.Request(), c.Response())
	}
	return id
}

// summaries names each grant compactly for the list and conflict notices.
func (h *Applications) summaries(grants []tokenservice.ScopeGrant) []views.ScopeSummary {
	var out []views.ScopeSummary
	for _, g := range grants {
		if e, ok := h.catalogue.Lookup(g.Key); ok {
			out = append(out, views.ScopeSummary{Label: e.Product + " · " + g.Access.Label()})
		} else {
			out = append(out, views.ScopeSummary{Label: g.Key + " · " + g.Access.Label(), Retired: true})
		}
	}
	return out
}
