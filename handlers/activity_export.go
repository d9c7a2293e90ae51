package handlers

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"tokenservice"
)

// exportActivity streams the trail of the filter as CSV or JSON lines,
// newest first, as it was when the export began.
func (h *Activity) exportActivity(c echo.Context) error {
	q := parseActivityQuery(c.QueryParams(), h.now())
	if q.format == "" {
		return tokenservice.Errorf(tokenservice.EINVALID, "Choose the export format: CSV or JSON (one event per line).")
	}
	if err := h.resolveApplication(c, &q); err != nil {
		return err
	}
	if q.problem != "" {
		return tokenservice.Errorf(tokenservice.EINVALID, "%s", q.problem)
	}
	q.filter.Before, q.filter.After = 0, 0
	ctx, account := c.Request().Context(), userOf(c).AccountID
	if id := q.filter.ClientID; id != "" {
		// Only the account's own applications, existing or deleted.
		if _, _, err := h.applicationName(c, id); err != nil {
			return err
		}
	}
	name := "activity-" + h.now().UTC().Format("2006-01-02")
	if q.filter.ClientID != "" {
		name += "-" + q.filter.ClientID
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+"."+q.format+`"`)
	if q.format == "csv" {
		w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	} else {
		w.Header().Set(echo.HeaderContentType, "application/jsonl; charset=utf-8")
	}
	// A large trail takes longer than the server's write timeout, which
	// would cut the file short after its 200: no deadline for the export.
	if err := http.NewResponseController(w.Writer).SetWriteDeadline(time.Time{}); err != nil {
		h.logger.Info("activity export: cannot lift the write deadline", append(logAttrs(c), "err", err)...)
	}
	w.WriteHeader(http.StatusOK)
	buf := bufio.NewWriterSize(w, 64<<10)
	var write func(*tokenservice.Event) error
	if q.format == "csv" {
		// The byte order mark tells spreadsheets the file is UTF-8, so names
		// with accents and dashes open as written.
		if _, err := buf.WriteString("\uFEFF"); err != nil {
			return err
		}
		cw := csv.NewWriter(buf)
		if err := cw.Write([]string{"time", "action", "actor_email", "actor_subject", "client_id", "application", "details", "address", "user_agent"}); err != nil {
			return err
		}
		write = func(e *tokenservice.Event) error {
			return cw.Write(csvRow(
				e.At.UTC().Format(time.RFC3339Nano), string(e.Action), e.Actor.Email, e.Actor.Subject,
				e.ClientID, e.ApplicationName, strings.Join(eventDetails(h.catalogue, e), "; "), e.Actor.Address, e.Actor.UserAgent))
		}
		defer func() { cw.Flush(); buf.Flush() }()
	} else {
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(true)
		write = func(e *tokenservice.Event) error { return enc.Encode(toEventJSON(e)) }
		defer buf.Flush()
	}
	err := h.store.EachEvent(ctx, account, q.filter, write)
	if err != nil {
		// The status is sent: the download ends short, and the log says why.
		h.logger.Info("activity export ended early", append(logAttrs(c), "err", err)...)
	}
	return nil
}

// csvRow makes every cell inert in a spreadsheet: a cell that would start a
// formula (=, +, -, @, tab, carriage return) gets a leading apostrophe.
func csvRow(cells ...string) []string {
	for i, s := range cells {
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			cells[i] = "'" + s
		}
	}
	return cells
}

// eventJSON is one line of the JSON lines export.
type eventJSON struct {
	ID          int64        `json:"id"`
	Time        time.Time    `json:"time"`
	Action      string       `json:"action"`
	Actor       actorJSON    `json:"actor"`
	ClientID    string       `json:"client_id,omitempty"`
	Application string       `json:"application,omitempty"`
	OldName     string       `json:"old_name,omitempty"`
	OldScopes   []grantJSON  `json:"old_scopes,omitempty"`
	Scopes      []grantJSON  `json:"scopes,omitempty"`
	Refused     *refusedJSON `json:"refused,omitempty"`
}

// refusedJSON is the request an access.refused event records.
type refusedJSON struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

type actorJSON struct {
	Subject   string `json:"subject"`
	Email     string `json:"email,omitempty"`
	Address   string `json:"address,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

type grantJSON struct {
	Scope  string `json:"scope"`
	Access string `json:"access"`
}

func toEventJSON(e *tokenservice.Event) eventJSON {
	grants := func(gs []tokenservice.ScopeGrant) []grantJSON {
		var out []grantJSON
		for _, g := range gs {
			out = append(out, grantJSON{Scope: g.Key, Access: string(g.Access)})
		}
		return out
	}
	var refused *refusedJSON
	if e.Action == tokenservice.ActionAccessRefused {
		refused = &refusedJSON{Method: e.Method, Path: e.Path, Reason: string(e.Refused)}
	}
	return eventJSON{
		Refused: refused,
		ID:      e.ID, Time: e.At.UTC(), Action: string(e.Action),
		Actor:    actorJSON{Subject: e.Actor.Subject, Email: e.Actor.Email, Address: e.Actor.Address, UserAgent: e.Actor.UserAgent},
		ClientID: e.ClientID, Application: e.ApplicationName, OldName: e.OldName,
		OldScopes: grants(e.OldScopes), Scopes: grants(e.Scopes),
	}
}
