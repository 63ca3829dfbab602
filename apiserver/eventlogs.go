package apiserver

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

func (s *Server) routesEventLogs(r *router) {
	r.handle("GET /api/v2/eventLogs", auth.Viewer, s.getEventLogs)
	r.handle("GET /api/v2/eventLogs/{event_log_id}", auth.Viewer, s.getEventLog)
}

// eventLogResponse is Airflow's EventLogResponse. gust has no display
// names: a DAG's and a task's are their ids.
type eventLogResponse struct {
	EventLogID      int64      `json:"event_log_id"`
	When            time.Time  `json:"when"`
	DagID           *string    `json:"dag_id"`
	TaskID          *string    `json:"task_id"`
	RunID           *string    `json:"run_id"`
	MapIndex        *int       `json:"map_index"`
	TryNumber       *int       `json:"try_number"`
	Event           string     `json:"event"`
	LogicalDate     *time.Time `json:"logical_date"`
	Owner           *string    `json:"owner"`
	Extra           *string    `json:"extra"`
	DagDisplayName  *string    `json:"dag_display_name"`
	TaskDisplayName *string    `json:"task_display_name"`
}

type eventLogCollection struct {
	EventLogs    []eventLogResponse `json:"event_logs"`
	TotalEntries int                `json:"total_entries"`
}

func eventLogResp(e *metadb.Event) eventLogResponse {
	out := eventLogResponse{EventLogID: e.ID, When: e.When.UTC(), DagID: e.DagID, TaskID: e.TaskID, RunID: e.RunID,
		MapIndex: e.MapIndex, TryNumber: e.TryNumber, Event: e.Event, Owner: e.Owner, Extra: e.Extra,
		DagDisplayName: e.DagID, TaskDisplayName: e.TaskID}
	if e.LogicalDate != nil {
		t := e.LogicalDate.UTC()
		out.LogicalDate = &t
	}
	return out
}

func (s *Server) getEventLogs(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	page := q.page("id")
	f := metadb.EventFilter{
		DagID: q.str("dag_id"), TaskID: q.str("task_id"), RunID: q.str("run_id"), Owner: q.str("owner"),
		Event: q.str("event"), MapIndex: q.optInt("map_index"), TryNumber: q.optInt("try_number"),
		IncludedEvents: q.list("included_events"), ExcludedEvents: q.list("excluded_events"),
		Before: q.optTime("before"), After: q.optTime("after"),
		DagIDPattern: q.pattern("dag_id_pattern"), TaskIDPattern: q.pattern("task_id_pattern"),
		RunIDPattern: q.pattern("run_id_pattern"), OwnerPattern: q.pattern("owner_pattern"),
		EventPattern: q.pattern("event_pattern"),
	}
	if err := q.err(); err != nil {
		return err
	}
	es, total, err := metadb.ListEvents(r.Context(), s.db.Pool, f, page)
	if err != nil {
		return err
	}
	out := eventLogCollection{EventLogs: make([]eventLogResponse, 0, len(es)), TotalEntries: total}
	for _, e := range es {
		out.EventLogs = append(out.EventLogs, eventLogResp(e))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getEventLog(w http.ResponseWriter, r *http.Request) error {
	id, err := intPathValue(r, "event_log_id")
	if err != nil {
		return err
	}
	e, err := metadb.GetEvent(r.Context(), s.db.Pool, id)
	if errors.Is(err, metadb.ErrNotFound) {
		return errorf(http.StatusNotFound, "The Event Log with id: `%d` not found", id)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, eventLogResp(e))
	return nil
}

// intPathValue reads an integer path parameter (FastAPI's 422 when it is
// not one).
func intPathValue(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, &httpError{status: http.StatusUnprocessableEntity, detail: []validationIssue{{Loc: []any{"path", name},
			Msg: "Input should be a valid integer, unable to parse string as an integer", Type: "int_parsing", Input: v}}}
	}
	return n, nil
}
