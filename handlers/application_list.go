package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/views"
)

// listApplications shows the account's applications, filtered and paginated
// by keyset; the live filter gets only the table.
func (h *Applications) listApplications(c echo.Context) error {
	user := userOf(c)
	filter := strings.TrimSpace(c.QueryParam("q"))
	if len([]rune(filter)) > 200 {
		filter = string([]rune(filter)[:200])
	}
	after := c.QueryParam("after")
	now := h.now()
	opt := tokenservice.ListOptions{Filter: filter, After: after, Limit: 50}
	view := c.QueryParam("view")
	switch view {
	case "last_used":
		opt.Sort = tokenservice.SortLastUsed
	case "expiring":
		opt.ExpiringBy = now.Add(tokenservice.ExpiryWarning)
	default:
		view = ""
	}
	page, err := h.store.ListApplications(c.Request().Context(), user.AccountID, opt)
	if tokenservice.ErrorCode(err) == tokenservice.EINVALID {
		return c.Redirect(http.StatusSeeOther, "/applications")
	} else if err != nil {
		return err
	}
	p := views.ApplicationsPage{
		AccountName:  user.AccountName,
		Filter:       filter,
		Total:        min(page.Total, tokenservice.MaxListTotal),
		TotalCapped:  page.Total > tokenservice.MaxListTotal,
		AccountEmpty: filter == "" && after == "" && view == "" && len(page.Applications) == 0,
		View:         view,
	}
	for _, a := range page.Applications {
		p.Rows = append(p.Rows, views.ApplicationRow{Name: a.Name, ClientID: a.ClientID, Scopes: h.summaries(a.Scopes), CreatedAt: a.CreatedAt,
			LastUsedAt: a.LastUsedAt, SecretEnds: a.SecretExpiresAt, Now: now})
	}
	if p.Expiring, err = h.store.CountExpiring(c.Request().Context(), user.AccountID, now.Add(tokenservice.ExpiryWarning)); err != nil {
		return err
	}
	q := url.Values{}
	if filter != "" {
		q.Set("q", filter)
	}
	if view != "" {
		q.Set("view", view)
	}
	if after != "" {
		p.FirstURL = "/applications?" + q.Encode()
	}
	if page.Next != "" {
		q.Set("after", page.Next)
		p.NextURL = "/applications?" + q.Encode()
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "app-table" {
		return render(c, http.StatusOK, views.ApplicationsTable(p))
	}
	p.Flash = popFlash(c)
	return render(c, http.StatusOK, views.Applications(p))
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
