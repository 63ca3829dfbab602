package apiserver

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

// The paths of Airflow features that gust does not have (asset materialization, plugins,
// providers, human-in-the-loop, extra links, external logs, favourites)
// answer in the spec's shapes: empty listings, a 404 for a named object, so
// that a client written for Airflow sees a cluster that has none of them.
// Also here: the reparse request (gust parses continuously) and the UI's
// login and logout redirects.
func (s *Server) routesEmpty(r *router) {
	const ti = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"

	r.handle("POST /api/v2/assets/{asset_id}/materialize", auth.User, notFoundByID("asset_id", "The Asset with ID: `%d` was not found"))

	r.handle("GET /api/v2/plugins", auth.Viewer, emptyList("plugins"))
	r.handle("GET /api/v2/plugins/importErrors", auth.Viewer, emptyList("import_errors"))
	r.handle("GET /api/v2/providers", readSecrets, emptyList("providers"))

	r.handle("POST /api/v2/dags/{dag_id}/favorite", auth.Viewer, s.favoriteDag("favorite_dag"))
	r.handle("POST /api/v2/dags/{dag_id}/unfavorite", auth.Viewer, s.favoriteDag("unfavorite_dag"))

	r.handle("GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/hitlDetails", auth.Viewer, emptyList("hitl_details"))
	// GET and PATCH …/{task_id}/{map_index}/hitlDetails: see tiDispatch.
	r.handle("GET "+ti+"/{map_index}/hitlDetails/tries/{try_number}", auth.Viewer, hitlDetailNotFound)
	r.handle("GET "+ti+"/links", auth.Viewer, s.getExtraLinks)
	r.handle("GET "+ti+"/externalLogUrl/{try_number}", auth.Viewer, getExternalLogURL)

	r.handle("PUT /api/v2/parseDagFile/{file_token}", auth.User, s.reparseDagFile)

	r.public("GET /api/v2/auth/login", getLogin)
	r.public("GET /api/v2/auth/logout", getLogout)
}

// emptyList answers a listing with nothing in it: {"<field>": [],
// "total_entries": 0}, after checking limit and offset.
func emptyList(field string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := newQuery(r)
		q.page()
		if err := q.err(); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{field: []any{}, "total_entries": 0})
		return nil
	}
}

// notFoundByID answers a 404 for any object named by an integer id.
func notFoundByID(param, format string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := intPathValue(r, param)
		if err != nil {
			return err
		}
		return errorf(http.StatusNotFound, format, id)
	}
}

// favoriteDag marks a DAG a favourite of the caller, or not: gust keeps no
// favourites, so after checking that the DAG exists this is a no-op
// answered as Airflow answers success (204), never a 409 for a DAG that
// was not marked.
func (s *Server) favoriteDag(event string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		dagID := r.PathValue("dag_id")
		if _, err := metadb.GetDAG(r.Context(), s.db.Pool, dagID); errors.Is(err, metadb.ErrNotFound) {
			return errorf(http.StatusNotFound, "DAG with id '%s' not found", dagID)
		} else if err != nil {
			return err
		}
		s.audit(r, event, metadb.Event{DagID: &dagID}, nil)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// tiDispatchGET and tiDispatchPATCH are paths under
// …/taskInstances/{task_id}/ that ServeMux cannot tell from others of
// Airflow's (GET …/{map_index}/hitlDetails overlaps GET
// …/externalLogUrl/{try_number}, PATCH …/{map_index}/hitlDetails overlaps
// PATCH …/xcomEntries/{xcom_key}): the task instances' {rest...}
// dispatcher serves them, GET for a Viewer and PATCH for a User.
var (
	tiDispatchGET   = map[string]handlerFunc{"{map_index}/hitlDetails": hitlDetailNotFound}
	tiDispatchPATCH = map[string]handlerFunc{"{map_index}/hitlDetails": hitlDetailNotFound}
)

func hitlDetailNotFound(w http.ResponseWriter, r *http.Request) error {
	mi, err := intPathValue(r, "map_index")
	if err != nil {
		return err
	}
	if r.PathValue("try_number") != "" {
		if _, err := intPathValue(r, "try_number"); err != nil {
			return err
		}
	}
	return errorf(http.StatusNotFound, "Human-in-the-loop detail does not exist for task instance dag_id=%s, run_id=%s, task_id=%s, map_index=%d",
		r.PathValue("dag_id"), r.PathValue("dag_run_id"), r.PathValue("task_id"), mi)
}

// extraLinksResponse is Airflow's ExtraLinkCollectionResponse.
type extraLinksResponse struct {
	ExtraLinks   map[string]*string `json:"extra_links"`
	TotalEntries int                `json:"total_entries"`
}

// getExtraLinks answers a task instance's extra links: gust's operators
// have none.
func (s *Server) getExtraLinks(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	mi := q.optInt("map_index")
	if err := q.err(); err != nil {
		return err
	}
	k := metadb.TIKey{DagID: r.PathValue("dag_id"), RunID: r.PathValue("dag_run_id"), TaskID: r.PathValue("task_id"), MapIndex: -1}
	if mi != nil {
		k.MapIndex = *mi
	}
	ctx := r.Context()
	if _, err := metadb.GetDAG(ctx, s.db.Pool, k.DagID); errors.Is(err, metadb.ErrNotFound) {
		return errorf(http.StatusNotFound, "DAG with ID = %s not found", k.DagID)
	} else if err != nil {
		return err
	}
	if _, err := metadb.GetTI(ctx, s.db.Pool, k); errors.Is(err, metadb.ErrNotFound) {
		return errorf(http.StatusNotFound, "TaskInstance not found")
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, extraLinksResponse{ExtraLinks: map[string]*string{}})
	return nil
}

// getExternalLogURL answers as Airflow does when the task log handler has
// no external log viewer: gust's logs are served by the API itself.
func getExternalLogURL(w http.ResponseWriter, r *http.Request) error {
	if _, err := intPathValue(r, "try_number"); err != nil {
		return err
	}
	q := newQuery(r)
	q.optInt("map_index")
	if err := q.err(); err != nil {
		return err
	}
	return errorf(http.StatusBadRequest, "Task log handler does not support external logs.")
}

// reparseDagFile accepts a request to reparse a DAG file (a DAG's
// file_token): gust's DAG processor parses every file continuously, so
// there is nothing to queue; an unknown file is a 404, as Airflow's.
func (s *Server) reparseDagFile(w http.ResponseWriter, r *http.Request) error {
	b, err := base64.RawURLEncoding.DecodeString(r.PathValue("file_token"))
	if err != nil || len(b) == 0 {
		return errorf(http.StatusNotFound, "File not found")
	}
	ok, err := metadb.DagFileKnown(r.Context(), s.db.Pool, string(b))
	if err != nil {
		return err
	}
	if !ok {
		return errorf(http.StatusNotFound, "File not found")
	}
	s.audit(r, "reparse_dag_file", metadb.Event{}, map[string]any{"fileloc": string(b)})
	writeJSON(w, http.StatusCreated, nil)
	return nil
}

// loginPage is the web UI's login page, where Airflow's simple auth
// manager has its own.
const loginPage = "/auth/login"

// getLogin redirects to the login page, keeping a next URL that stays on
// this server (another is dropped, never followed).
func getLogin(w http.ResponseWriter, r *http.Request) error {
	target := loginPage
	if next := r.URL.Query().Get("next"); next != "" && safeNext(r, next) {
		target += "?" + url.Values{"next": {next}}.Encode()
	}
	redirect(w, target)
	return nil
}

// getLogout clears the UI's session cookies and redirects to the login page.
// Tokens are not revoked: they expire ([api_auth] jwt_expiration_time).
func getLogout(w http.ResponseWriter, r *http.Request) error {
	setSession(w, r, "", "", -1)
	redirect(w, loginPage)
	return nil
}

func redirect(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	writeJSON(w, http.StatusTemporaryRedirect, map[string]string{"detail": "Redirecting to " + target})
}

// safeNext reports whether next stays on this server: a path, or a URL of
// this host.
func safeNext(r *http.Request, next string) bool {
	u, err := url.Parse(next)
	if err != nil || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return false
	}
	if u.Scheme == "" && u.Host == "" {
		return strings.HasPrefix(u.Path, "/")
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host == r.Host
}
