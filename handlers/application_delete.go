package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/views"
)

// confirmDelete asks before deleting an application.
func (h *Applications) confirmDelete(c echo.Context) error {
	app, err := h.appOf(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ConfirmPage(views.Confirm{
		Title: "Delete application", AppName: app.Name, ClientID: app.ClientID, Version: app.Version, FormKey: newFormKey(),
		Message:     "Delete “" + app.Name + "”?",
		Consequence: "Its Client ID and Client Secret stop working at once, and its access tokens are no longer accepted at introspection. This cannot be undone.",
		Action:      "/applications/" + app.ClientID + "/delete", Button: "Delete application", CancelURL: "/applications/" + app.ClientID + "/edit",
	}))
}

// deleteApplication deletes the application and its credentials.
func (h *Applications) deleteApplication(c echo.Context) error {
	id, err := clientIDParam(c)
	if err != nil {
		return err
	}
	user := userOf(c)
	version, _ := strconv.Atoi(c.FormValue("version")) // 0 when missing or malformed: the operation refuses it
	app, err := h.ops.DeleteApplication(c.Request().Context(), principalOf(c), tokenservice.ApplicationChange{ClientID: id, Version: version, FormKey: formKey(c)})
	if err == nil {
		h.logger.Info("application deleted", append(logAttrs(c), "client_id", id, "by", user.Email)...)
	}
	return finishChange(c, err, outcome{
		duplicate:  "/applications",
		conflict:   "The application changed while you were confirming, so it was not deleted. Check the details below and delete it again if you still want to.",
		conflictTo: "/applications/" + id,
		done: func() (string, string) {
			return "Application “" + app.Name + "” was deleted. Its credentials no longer work.", "/applications"
		},
	})
}
