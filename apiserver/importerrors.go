package apiserver

import (
	"errors"
	"net/http"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

func (s *Server) routesImportErrors(r *router) {
	r.handle("GET /api/v2/importErrors", auth.Viewer, s.getImportErrors)
	r.handle("GET /api/v2/importErrors/{import_error_id}", auth.Viewer, s.getImportError)
}

// importErrorBundle is the bundle of every import error (bundleName): gust's one DAG
// bundle, the DAG folder (named as Airflow 3's default bundle).
const importErrorBundle = bundleName

// importErrorResponse is Airflow's ImportErrorResponse.
type importErrorResponse struct {
	ImportErrorID int64     `json:"import_error_id"`
	Timestamp     time.Time `json:"timestamp"`
	Filename      string    `json:"filename"`
	BundleName    *string   `json:"bundle_name"`
	StackTrace    string    `json:"stack_trace"`
}

type importErrorCollection struct {
	ImportErrors []importErrorResponse `json:"import_errors"`
	TotalEntries int                   `json:"total_entries"`
}

func importErrorResp(e *metadb.ImportError) importErrorResponse {
	return importErrorResponse{ImportErrorID: e.ID, Timestamp: e.Timestamp.UTC(), Filename: e.Filename,
		BundleName: strp(importErrorBundle), StackTrace: e.Stacktrace}
}

func (s *Server) getImportErrors(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	page := q.page("id")
	pattern := q.pattern("filename_pattern")
	if err := q.err(); err != nil {
		return err
	}
	es, total, err := metadb.ListImportErrorsPage(r.Context(), s.db.Pool, pattern, page)
	if err != nil {
		return err
	}
	out := importErrorCollection{ImportErrors: make([]importErrorResponse, 0, len(es)), TotalEntries: total}
	for i := range es {
		out.ImportErrors = append(out.ImportErrors, importErrorResp(&es[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getImportError(w http.ResponseWriter, r *http.Request) error {
	id, err := intPathValue(r, "import_error_id")
	if err != nil {
		return err
	}
	e, err := metadb.GetImportError(r.Context(), s.db.Pool, id)
	if errors.Is(err, metadb.ErrNotFound) {
		return errorf(http.StatusNotFound, "The ImportError with import_error_id: `%d` was not found", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, importErrorResp(e))
	return nil
}
