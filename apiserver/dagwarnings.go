package apiserver

import (
	"net/http"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/dagspec"
	"github.com/gust-sched/gust/metadb"
)

func (s *Server) routesDagWarnings(r *router) {
	r.handle("GET /api/v2/dagWarnings", auth.Viewer, s.getDagWarnings)
}

// Airflow's DagWarningType is a fixed enum: "asset conflict", "non-existent
// pool", "runtime varying value". gust's "non-existent pool" is Airflow's.
// gust's own "ignored argument" (an argument that gust accepts and does not
// act on) is served as "runtime varying value", Airflow's kind for a DAG
// argument that will not behave as its author expects; the message says
// which argument and why. Any other gust type is served the same way, so
// that a client's enum never fails.
const (
	warningAssetConflict  = "asset conflict"
	warningNonExistent    = dagspec.WarningNonExistentPool
	warningRuntimeVarying = "runtime varying value"
)

// apiWarningType is the spec's warning type for a gust one.
func apiWarningType(t string) string {
	switch t {
	case warningAssetConflict, warningNonExistent, warningRuntimeVarying:
		return t
	default:
		return warningRuntimeVarying
	}
}

// gustWarningTypes are the gust types served as an API type.
func gustWarningTypes(api string) []string {
	if api == warningRuntimeVarying {
		return []string{warningRuntimeVarying, dagspec.WarningIgnoredArgument}
	}
	return []string{api}
}

// dagWarningResponse is Airflow's DAGWarningResponse.
type dagWarningResponse struct {
	DagID          string    `json:"dag_id"`
	WarningType    string    `json:"warning_type"`
	Message        string    `json:"message"`
	Timestamp      time.Time `json:"timestamp"`
	DagDisplayName string    `json:"dag_display_name"`
}

type dagWarningCollection struct {
	DagWarnings  []dagWarningResponse `json:"dag_warnings"`
	TotalEntries int                  `json:"total_entries"`
}

func (s *Server) getDagWarnings(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	page := q.page("dag_id")
	f := metadb.DagWarningFilter{DagID: q.str("dag_id")}
	if t := q.str("warning_type"); t != "" {
		q.oneOf("warning_type", []string{t}, warningAssetConflict, warningNonExistent, warningRuntimeVarying)
		f.Types = gustWarningTypes(t)
	}
	if err := q.err(); err != nil {
		return err
	}
	ws, total, err := metadb.ListDagWarningsPage(r.Context(), s.db.Pool, f, page)
	if err != nil {
		return err
	}
	out := dagWarningCollection{DagWarnings: make([]dagWarningResponse, 0, len(ws)), TotalEntries: total}
	for _, dw := range ws {
		out.DagWarnings = append(out.DagWarnings, dagWarningResponse{DagID: dw.DagID, WarningType: apiWarningType(dw.WarningType),
			Message: dw.Message, Timestamp: dw.Timestamp.UTC(), DagDisplayName: dw.DagID})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
