package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"tokenservice"
	"tokenservice/views"
)

// showSettings is the account's Settings page.
func (h *Applications) showSettings(c echo.Context) error {
	s, err := h.ops.Settings(c.Request().Context(), principalOf(c), "")
	if err != nil {
		return err
	}
	p := h.settingsPage(c, s)
	p.Flash = popFlash(c)
	return render(c, http.StatusOK, views.Settings(p))
}

func (h *Applications) settingsPage(c echo.Context, s *tokenservice.AccountSettings) views.SettingsPage {
	p := views.SettingsPage{AccountName: userOf(c).AccountName, LeakAction: s.LeakAction, Version: s.Version,
		FormKey: newFormKey(), UpdatedAt: s.UpdatedAt, UpdatedBy: s.UpdatedBy, Ceiling: h.ceilingText()}
	if s.MaxSecretLifetime > 0 {
		p.MaxSecretLifetime = strconv.Itoa(int(s.MaxSecretLifetime / (24 * time.Hour)))
	}
	return p
}

// ceilingText is the operator's maximum secret lifetime in words, "" for none.
func (h *Applications) ceilingText() string {
	if h.ceiling <= 0 {
		return ""
	}
	return views.Lifetime(h.ceiling)
}

// saveSettings saves the account's settings.
func (h *Applications) saveSettings(c echo.Context) error {
	version, _ := strconv.Atoi(c.FormValue("version"))
	in := tokenservice.SettingsInput{LeakAction: tokenservice.LeakAction(c.FormValue("leak_action")), Version: version, FormKey: formKey(c)}
	errs := map[string]string{}
	if v := strings.TrimSpace(c.FormValue("max_secret_lifetime")); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 1 {
			errs["max_secret_lifetime"] = "Enter a whole number of days (1 or more), or leave it empty for no maximum."
		}
		in.MaxSecretLifetime = time.Duration(days) * 24 * time.Hour
	}
	var err error
	if len(errs) == 0 {
		_, err = h.ops.UpdateSettings(c.Request().Context(), principalOf(c), in)
		if e, ok := errors.AsType[*tokenservice.Error](err); ok && e.Code == tokenservice.EINVALID {
			for k, v := range e.Fields {
				errs[k] = v
			}
			err = nil
		}
	}
	if len(errs) == 0 {
		var dup *tokenservice.DuplicateError
		switch {
		case errors.As(err, &dup):
			return redirect(c, "/settings")
		case tokenservice.ErrorCode(err) == tokenservice.ECONFLICT:
			if err := setFlash(c, tokenservice.ErrorMessage(err)); err != nil {
				return err
			}
			return redirect(c, "/settings")
		case err != nil:
			return err
		}
		if err := setFlash(c, "The settings were saved."); err != nil {
			return err
		}
		return redirect(c, "/settings")
	}
	s, err := h.ops.Settings(c.Request().Context(), principalOf(c), "")
	if err != nil {
		return err
	}
	p := h.settingsPage(c, s)
	p.MaxSecretLifetime, p.LeakAction, p.Version, p.FormKey = c.FormValue("max_secret_lifetime"), in.LeakAction, version, in.FormKey
	p.Errors = errs
	return render(c, http.StatusUnprocessableEntity, views.Settings(p))
}
