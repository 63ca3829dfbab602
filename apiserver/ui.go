package apiserver

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

// The web UI's session: the token in an HTTP-only cookie, and a random
// CSRF value in a cookie that the UI's scripts read and send back in
// X-CSRF-Token on writes (double submit). Both are SameSite=Strict.
const (
	csrfCookie = "_csrf"
	csrfHeader = "X-CSRF-Token"
)

// csrfOK reports whether a cookie-authenticated write carries the CSRF
// cookie's value in its header.
func csrfOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	h := r.Header.Get(csrfHeader)
	return err == nil && c.Value != "" && h != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(h)) == 1
}

// setSession sets the UI's cookies; maxAge < 0 clears them.
func setSession(w http.ResponseWriter, r *http.Request, token, csrf string, maxAge int) {
	secure := r.TLS != nil
	http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: csrf, Path: "/", MaxAge: maxAge,
		Secure: secure, SameSite: http.SameSiteStrictMode})
}

// hasSession reports whether a page load carries a valid session; a
// failure other than a refused token (the database down) is logged, and
// the browser is sent to the login page all the same.
func (s *Server) hasSession(r *http.Request) bool {
	_, err := s.authenticate(r)
	var he *httpError
	if err != nil && !errors.As(err, &he) {
		s.logger.Error("cannot check a web UI session", "path", r.URL.Path, "err", err)
	}
	return err == nil
}

// postLogin is the login page's form (refused from another origin): on success it sets the session's
// cookies and sends the browser on to next (or the DAG list); on failure
// back to the login page with the reason in error.
func (s *Server) postLogin(w http.ResponseWriter, r *http.Request) {
	// Another site's form must not sign the browser in (as its user).
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			writeError(w, http.StatusForbidden, "Cross-origin login refused")
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Redirect(w, r, loginPage+"?error=bad_form", http.StatusSeeOther)
		return
	}
	next := r.PostForm.Get("next")
	if next == "" || !safeNext(r, next) {
		next = "/dags"
	}
	token, err := s.login(r.Context(), r.PostForm.Get("username"), r.PostForm.Get("password"))
	if err != nil {
		reason := "invalid"
		var le *loginError
		switch {
		case errors.As(err, &le) && le.status == http.StatusTooManyRequests:
			reason = "locked"
		case !errors.As(err, &le):
			s.logger.Error("web login failed", "err", err)
			reason = "server"
		}
		http.Redirect(w, r, loginPage+"?"+url.Values{"error": {reason}, "next": {next}}.Encode(), http.StatusSeeOther)
		return
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		s.fail(w, r, err)
		return
	}
	maxAge := int(s.opts.JWTExpiration / time.Second)
	if maxAge <= 0 {
		maxAge = 0 // a session cookie
	}
	setSession(w, r, token, base64.RawURLEncoding.EncodeToString(b[:]), maxAge)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// Private endpoints of the web UI (as Airflow 3's /ui/...): what the public
// API does not serve in one call.
func (s *Server) routesUI(r *router) {
	r.handle("GET /ui/me", auth.Viewer, s.getMe)
	r.handle("GET /ui/dags/recent_dag_runs", auth.Viewer, s.getRecentDagRuns)
	s.routesUIDag(r)
	s.routesUIHome(r)
}

// getMe answers who the caller is and what their role lets them do.
func (s *Server) getMe(w http.ResponseWriter, r *http.Request) error {
	p := caller(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"username": p.Username,
		"role":     p.Role.String(),
		"can_edit": p.Role.Allows(auth.User),
	})
	return nil
}

// getRecentDagRuns answers the latest dag_runs_limit runs (default 10) of
// each of dag_ids, newest first: {"dags": [{"dag_id", "latest_dag_runs"}]}.
func (s *Server) getRecentDagRuns(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	limit := q.intOr("dag_runs_limit", 10, 1)
	ids := q.list("dag_ids")
	if err := q.err(); err != nil {
		return err
	}
	if limit > 100 {
		limit = 100
	}
	if len(ids) > 1000 {
		return errorf(http.StatusBadRequest, "at most 1000 dag_ids")
	}
	byDag, err := metadb.RecentRuns(r.Context(), s.db.Pool, ids, limit)
	if err != nil {
		return err
	}
	var all []*metadb.DagRun
	for _, id := range ids {
		all = append(all, byDag[id]...)
	}
	c, err := s.runsResponse(r.Context(), all, len(all))
	if err != nil {
		return err
	}
	type dagRuns struct {
		DagID string           `json:"dag_id"`
		Runs  []dagRunResponse `json:"latest_dag_runs"`
	}
	out := make([]dagRuns, 0, len(ids))
	i := 0
	for _, id := range ids {
		n := len(byDag[id])
		out = append(out, dagRuns{DagID: id, Runs: c.DagRuns[i : i+n : i+n]})
		i += n
	}
	writeJSON(w, http.StatusOK, map[string]any{"dags": out})
	return nil
}
