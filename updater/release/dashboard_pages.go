package release

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The dashboard's pages and actions (dashboard.go has the sessions and
// the checks every request passes).

// dashView is what the templates (dashboard_assets/*.html) read.
type dashView struct {
	CSRF  string
	Error string
	Done  string
	Apps  []dashAppRow
	App   *AppStatus
	Chart dashChart
}

type dashAppRow struct {
	ID         string
	Latest     string
	Rollout    int
	Versions   int
	Fetches24h int64
}

var dashFuncs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"size": func(n int64) string {
		if n < 1<<20 {
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	},
}

// dashDone are the notices an action's redirect may ask for (a fixed set:
// the page never shows text from the query).
var dashDone = map[string]string{
	"rollout":  "Rollout changed: clients see the new document at their next check.",
	"settings": "Settings changed.",
	"revert":   "Reverted: the newer versions are revoked.",
}

// render executes the named template into a buffer first, so a failure is
// a clean 500 and not half a page.
func (d *dashboard) render(w http.ResponseWriter, status int, name string, v dashView) {
	var buf bytes.Buffer
	if err := d.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		d.s.log.Error("render dashboard page", "page", name, "err", err)
		http.Error(w, "internal error; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// statusOf is the HTTP status the admin API answers err with.
func statusOf(err error) int {
	for _, e := range apiErrors {
		if errors.Is(err, e.err) {
			return e.status
		}
	}
	return http.StatusInternalServerError
}

func (d *dashboard) handleApps(w http.ResponseWriter, r *http.Request, v dashView) {
	for _, id := range d.s.appIDs() {
		st, err := d.s.Status(r.Context(), id)
		if err != nil {
			continue // removed meanwhile: apps never are, but be safe
		}
		row := dashAppRow{ID: id, Rollout: st.RolloutPercent, Versions: len(st.Versions)}
		for _, vi := range st.Versions {
			if vi.State == versionLatest {
				row.Latest = vi.Version
			}
			row.Fetches24h += vi.Fetches24h
		}
		v.Apps = append(v.Apps, row)
	}
	d.render(w, http.StatusOK, "apps", v)
}

func (d *dashboard) handleApp(w http.ResponseWriter, r *http.Request, v dashView) {
	v.Done = dashDone[r.URL.Query().Get("done")]
	d.appPage(w, r, http.StatusOK, v)
}

// appPage renders an app's page with status (an action's error's, or OK).
func (d *dashboard) appPage(w http.ResponseWriter, r *http.Request, status int, v dashView) {
	appID := r.PathValue("app")
	st, err := d.s.Status(r.Context(), appID)
	if err != nil {
		v.Error = err.Error()
		d.render(w, statusOf(err), "apps", v)
		return
	}
	v.App = st
	v.Chart = newDashChart(st, d.s.adoption.snapshot(appID, d.s.cfg.Now()))
	d.render(w, status, "app", v)
}

// done ends an action: on success a redirect to the app's page (so a
// reload does not post again), else the page with the error.
func (d *dashboard) done(w http.ResponseWriter, r *http.Request, what string, err error) {
	if err != nil {
		_, ss, _ := d.session(r)
		d.appPage(w, r, statusOf(err), dashView{CSRF: ss.csrf, Error: err.Error()})
		return
	}
	http.Redirect(w, r, "/dashboard/apps/"+url.PathEscape(r.PathValue("app"))+"?done="+what, http.StatusSeeOther)
}

func (d *dashboard) handleRollout(w http.ResponseWriter, r *http.Request, _ string) {
	q := strings.TrimSpace(r.PostFormValue("percent"))
	p, err := strconv.Atoi(q)
	if err != nil {
		d.done(w, r, "", fmt.Errorf("%w: rollout %q is not a whole number", ErrInvalidArgument, q))
		return
	}
	d.done(w, r, "rollout", d.s.setSettings(r.Context(), r.PathValue("app"), Settings{RolloutPercent: &p}))
}

func (d *dashboard) handleSettings(w http.ResponseWriter, r *http.Request, _ string) {
	minV := strings.TrimSpace(r.PostFormValue("minVersion"))
	pref := strings.TrimSpace(r.PostFormValue("preferLocal"))
	d.done(w, r, "settings", d.s.setSettings(r.Context(), r.PathValue("app"), Settings{MinVersion: &minV, PreferLocal: &pref}))
}

func (d *dashboard) handleRevert(w http.ResponseWriter, r *http.Request, _ string) {
	d.done(w, r, "revert", d.s.revert(r.Context(), r.PathValue("app"), strings.TrimSpace(r.PostFormValue("version"))))
}
