package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/views"
)

// revealSecret shows the Client Secret during its reveal window.
func (h *Applications) revealSecret(c echo.Context) error {
	app, err := h.appOf(c)
	if err != nil {
		return err
	}
	id := app.ClientID
	pt, err := h.ops.RevealSecret(c.Request().Context(), principalOf(c), id)
	if err != nil && tokenservice.ErrorCode(err) != tokenservice.EGONE {
		return err
	}
	if pt != "" {
		h.logger.Info("client secret revealed", append(logAttrs(c), "client_id", id, "by", userOf(c).Email)...)
	}
	d := h.details(c, app)
	if err != nil { // the window ended between the page and the click
		d.Secret.Revealable = false
	}
	d.Secret.Plaintext = pt
	if isHTMX(c) {
		return render(c, http.StatusOK, views.SecretPanelView(d.Secret))
	}
	if err := h.addUsage(c, &d); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Details(d))
}

// copySecret answers the copy button with the plaintext (never cached), or
// 410 Gone once the window has ended.
func (h *Applications) copySecret(c echo.Context) error {
	id, err := clientIDParam(c)
	if err != nil {
		return err
	}
	pt, err := h.ops.CopySecret(c.Request().Context(), principalOf(c), id)
	if err != nil {
		return err // the copy button asks for text/plain: see errorHandler
	}
	h.logger.Info("client secret copied", append(logAttrs(c), "client_id", id, "by", userOf(c).Email)...)
	if c.QueryParam("as") == "export" {
		// The shell line the Details page's examples start from; a secret
		// is letters, digits and "_", so single quotes hold it as it is.
		return c.String(http.StatusOK, "export CLIENT_SECRET='"+pt+"'\n")
	}
	return c.String(http.StatusOK, pt)
}

// confirmReset asks before replacing the Client Secret.
func (h *Applications) confirmReset(c echo.Context) error {
	app, err := h.appOf(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ConfirmPage(views.Confirm{
		Title: "Reset client secret", AppName: app.Name, ClientID: app.ClientID, Version: app.Version, FormKey: newFormKey(),
		Message:     "Reset the Client Secret of “" + app.Name + "”?",
		Consequence: "A new secret replaces every current secret at once (both, during a rotation): they stop working immediately, and the access tokens issued with them are no longer accepted at introspection. To change the secret without downtime, rotate it instead. The new secret can be viewed for " + windowText(h.window) + ".",
		Action:      "/applications/" + app.ClientID + "/reset", Button: "Reset client secret", CancelURL: "/applications/" + app.ClientID + "/edit",
	}))
}

// resetSecret replaces the Client Secret and shows the new one.
func (h *Applications) resetSecret(c echo.Context) error {
	id, err := clientIDParam(c)
	if err != nil {
		return err
	}
	user := userOf(c)
	version, _ := strconv.Atoi(c.FormValue("version")) // 0 when missing or malformed: the operation refuses it
	_, _, err = h.ops.ResetSecret(c.Request().Context(), principalOf(c), tokenservice.ApplicationChange{ClientID: id, Version: version, FormKey: formKey(c)})
	if err == nil {
		h.logger.Info("client secret reset", append(logAttrs(c), "client_id", id, "by", user.Email)...)
	}
	return finishChange(c, err, outcome{
		duplicate:  "/applications/" + id,
		conflict:   "The application changed while you were confirming (perhaps the secret was already reset), so nothing was reset. Check the details below and reset again if you still need to.",
		conflictTo: "/applications/" + id,
		done: func() (string, string) {
			return "The Client Secret was reset and the old one no longer works. Copy the new secret now: it can be viewed for " + windowText(h.window) + " only.", "/applications/" + id
		},
	})
}
