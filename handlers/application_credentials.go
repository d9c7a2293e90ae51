package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/secret"
	"tokenservice/views"
)

// shownRevoked is how many revoked credentials the Details page lists
// before the older ones, which it keeps behind a disclosure.
const shownRevoked = 2

// credentialRows are the application's credentials as the Details page
// lists them, with the rotate action's state.
func (h *Applications) credentialRows(app *tokenservice.Application, d *views.ApplicationDetails, now time.Time) {
	live := app.LiveCredentials(now)
	revoked := 0
	for _, cr := range app.Credentials {
		list := &d.Credentials
		if cr.Revoked(now) {
			if revoked++; revoked > shownRevoked {
				list = &d.OlderRevoked
			}
		}
		*list = append(*list, views.CredentialRow{
			ID: cr.ID, Kind: cr.Kind.Label(), Name: cr.Hint, State: cr.State(now), Leaked: !cr.LeakedAt.IsZero(),
			CreatedAt: cr.CreatedAt, CreatedBy: cr.CreatedBy, ExpiresAt: cr.ExpiresAt, WorksUntil: cr.RevokeAt,
			RevokedAt: cr.RevokedAt, RevokedBy: cr.RevokedBy, Reason: cr.RevokeReason, LastUsedAt: cr.LastUsedAt, Now: now,
			// Never the last working one; an expired one may always go.
			Revocable: !cr.Revoked(now) && (!cr.Live(now) || live > 1),
			RevokeURL: "/applications/" + app.ClientID + "/credentials/" + cr.ID + "/revoke",
		})
	}
	d.NoLiveSecret = live == 0
	if live < tokenservice.MaxLiveSecrets {
		d.RotateURL = "/applications/" + app.ClientID + "/rotate"
	} else {
		d.RotateBlocked = "Two secrets are live: revoke one, or wait for the older one's grace period to end, to rotate again."
	}
}

// rotateForm shows the form that rotates the Client Secret.
func (h *Applications) rotateForm(c echo.Context) error {
	app, err := h.appOf(c)
	if err != nil {
		return err
	}
	p := views.RotatePage{AppName: app.Name, ClientID: app.ClientID, Version: app.Version, FormKey: newFormKey(), Grace: "24h", Window: windowText(h.window)}
	if err := h.rotateLimits(c, &p); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Rotate(p))
}

// rotateLimits fills in the account's maximum secret lifetime.
func (h *Applications) rotateLimits(c echo.Context, p *views.RotatePage) error {
	limit, err := h.ops.MaxSecretLifetime(c.Request().Context(), userOf(c).AccountID)
	if err != nil {
		return err
	}
	if limit > 0 {
		p.MaxText = views.Lifetime(limit)
		p.MaxExpiry = h.now().Add(limit).UTC().Format(time.DateOnly)
	}
	return nil
}

// rotateSecret adds a new Client Secret and keeps the current one working
// for the chosen grace period.
func (h *Applications) rotateSecret(c echo.Context) error {
	id, err := clientIDParam(c)
	if err != nil {
		return err
	}
	version, _ := strconv.Atoi(c.FormValue("version"))
	p := views.RotatePage{ClientID: id, Version: version, FormKey: formKey(c), Window: windowText(h.window),
		Grace: c.FormValue("grace"), GraceDate: c.FormValue("grace_date"), Expires: c.FormValue("expires"), Errors: map[string]string{}}
	in := tokenservice.RotateSecretInput{ClientID: id, Version: version, FormKey: p.FormKey}
	switch p.Grace {
	case "0", "1h", "24h", "168h":
		in.Grace, _ = time.ParseDuration(p.Grace)
	case "date":
		t, err := endOfDay(p.GraceDate)
		if err != nil {
			p.Errors["grace"] = "Enter the date the current secret stops working, as YYYY-MM-DD."
		}
		in.GraceUntil = t
	default:
		p.Errors["grace"] = "Choose how long the current secret keeps working."
	}
	if p.Grace != "date" && p.GraceDate != "" && p.Errors["grace"] == "" {
		p.Errors["grace"] = "A date is filled in but “Until a date” is not chosen: choose it, or clear the date."
	}
	if p.Expires != "" {
		t, err := endOfDay(p.Expires)
		if err != nil {
			p.Errors["expires"] = "Enter the expiry date as YYYY-MM-DD, or leave it empty."
		}
		in.ExpiresAt = t
	}
	if len(p.Errors) == 0 {
		_, _, _, err = h.ops.RotateSecret(c.Request().Context(), principalOf(c), in)
		if e, ok := errors.AsType[*tokenservice.Error](err); ok && e.Code == tokenservice.EINVALID {
			for k, v := range e.Fields {
				p.Errors[k] = v
			}
			if len(e.Fields) == 0 {
				p.Errors["form"] = e.Message
			}
			err = nil
		}
		if len(p.Errors) == 0 {
			if err == nil {
				h.logger.Info("client secret rotated", append(logAttrs(c), "client_id", id, "by", userOf(c).Email)...)
			}
			return finishChange(c, err, outcome{
				duplicate:  "/applications/" + id,
				conflict:   "The application changed while you were rotating its secret (perhaps someone else rotated it), so nothing was changed. Check its credentials below and rotate again if you still need to.",
				conflictTo: "/applications/" + id,
				done: func() (string, string) {
					return "A new Client Secret was made. Copy it now: it can be viewed for " + windowText(h.window) + " only. Deploy it to every copy of the application before the old secret stops working.", "/applications/" + id
				},
			})
		}
	}
	app, err := h.appOf(c)
	if err != nil {
		return err
	}
	p.AppName = app.Name
	if err := h.rotateLimits(c, &p); err != nil {
		return err
	}
	return render(c, http.StatusUnprocessableEntity, views.Rotate(p))
}

// endOfDay is the end of the UTC day a date input names: a secret that
// "expires on 30 Jun" works all of 30 Jun.
func endOfDay(date string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return time.Time{}, err
	}
	return t.Add(24 * time.Hour), nil
}

// credentialOf is the application and credential the URL names.
func (h *Applications) credentialOf(c echo.Context) (*tokenservice.Application, *tokenservice.Credential, error) {
	app, err := h.appOf(c)
	if err != nil {
		return nil, nil, err
	}
	cred := app.Credential(c.Param("credential_id"))
	if !secret.ValidCredentialID(c.Param("credential_id")) || cred == nil {
		return nil, nil, tokenservice.Errorf(tokenservice.ENOTFOUND, "Credential not found.")
	}
	return app, cred, nil
}

// confirmRevoke asks before revoking one credential.
func (h *Applications) confirmRevoke(c echo.Context) error {
	app, cred, err := h.credentialOf(c)
	if err != nil {
		return err
	}
	name := cred.Hint
	if name == "" {
		name = cred.ID
	}
	return render(c, http.StatusOK, views.ConfirmPage(views.Confirm{
		Title: "Revoke credential", AppName: app.Name, ClientID: app.ClientID, Version: app.Version, FormKey: newFormKey(),
		Message:     "Revoke the " + cred.Kind.Label() + " " + name + " of “" + app.Name + "”?",
		Consequence: "It stops working at once, and the access tokens issued with it are no longer accepted at introspection. The application's other credentials keep working.",
		Action:      "/applications/" + app.ClientID + "/credentials/" + cred.ID + "/revoke", Button: "Revoke credential", CancelURL: "/applications/" + app.ClientID,
	}))
}

// revokeCredential revokes one credential.
func (h *Applications) revokeCredential(c echo.Context) error {
	id, err := clientIDParam(c)
	if err != nil {
		return err
	}
	version, _ := strconv.Atoi(c.FormValue("version"))
	_, err = h.ops.RevokeCredential(c.Request().Context(), principalOf(c), tokenservice.RevokeCredentialInput{
		ClientID: id, CredentialID: c.Param("credential_id"), Version: version, FormKey: formKey(c),
	})
	if tokenservice.ErrorCode(err) == tokenservice.EINVALID {
		// The last working credential, or one revoked meanwhile: say so on
		// the Details page, where the choices are.
		if ferr := setFlash(c, tokenservice.ErrorMessage(err)+" Nothing was changed."); ferr != nil {
			return ferr
		}
		return redirect(c, "/applications/"+id)
	}
	if err == nil {
		h.logger.Info("credential revoked", append(logAttrs(c), "client_id", id, "credential", c.Param("credential_id"), "by", userOf(c).Email)...)
	}
	return finishChange(c, err, outcome{
		duplicate:  "/applications/" + id,
		conflict:   "The application changed while you were confirming, so nothing was revoked. Check its credentials below and revoke again if you still need to.",
		conflictTo: "/applications/" + id,
		done: func() (string, string) {
			return "The credential was revoked and no longer works.", "/applications/" + id
		},
	})
}
