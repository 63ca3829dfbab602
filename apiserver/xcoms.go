package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/metadb"
)

func (s *Server) routesXComs(r *router) {
	const x = "/api/v2/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}/xcomEntries"
	r.handle("GET "+x, auth.Viewer, s.getXComEntries)
	r.handle("POST "+x, auth.User, s.createXComEntry)
	r.handle("GET "+x+"/{xcom_key}", auth.Viewer, s.getXComEntry)
	r.handle("PATCH "+x+"/{xcom_key}", auth.User, s.updateXComEntry)
	r.handle("DELETE "+x+"/{xcom_key}", auth.User, s.deleteXComEntry)
}

type xcomResponse struct {
	Key             string     `json:"key"`
	Timestamp       time.Time  `json:"timestamp"`
	LogicalDate     *time.Time `json:"logical_date"`
	MapIndex        int        `json:"map_index"`
	TaskID          string     `json:"task_id"`
	DagID           string     `json:"dag_id"`
	RunID           string     `json:"run_id"`
	DagDisplayName  string     `json:"dag_display_name"`
	TaskDisplayName string     `json:"task_display_name"`
	RunAfter        time.Time  `json:"run_after"`
}

type xcomValueResponse struct {
	xcomResponse
	Value any `json:"value"`
}

func xcomResp(x *metadb.XComRow) xcomResponse {
	run := metadb.DagRun{RunType: x.RunType, QueuedAt: x.QueuedAt, DataIntervalEnd: x.IntervalEnd, LogicalDate: x.LogicalDate}
	return xcomResponse{Key: x.Key, Timestamp: x.Timestamp.UTC(), LogicalDate: utcp(&x.LogicalDate), MapIndex: x.MapIndex,
		TaskID: x.TaskID, DagID: x.DagID, RunID: x.RunID, DagDisplayName: x.DagID, TaskDisplayName: x.TaskID, RunAfter: runAfter(&run)}
}

func (s *Server) getXComEntries(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f := metadb.XComFilter{DagID: anyOrAll(r.PathValue("dag_id")), RunID: anyOrAll(r.PathValue("dag_run_id")),
		TaskID: anyOrAll(r.PathValue("task_id")), Key: q.str("xcom_key"), MapIndex: q.optInt("map_index"),
		KeyPattern: q.pattern("xcom_key_pattern"), RunIDPattern: q.pattern("run_id_pattern"),
		TaskIDPattern: q.pattern("task_id_pattern"), DagPattern: q.pattern("dag_display_name_pattern"),
		LogicalGTE: q.optTime("logical_date_gte"), LogicalLTE: q.optTime("logical_date_lte")}
	if mi := q.optInt("map_index_filter"); mi != nil {
		f.MapIndex = mi
	}
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	if err := s.checkDag(r.Context(), r.PathValue("dag_id")); err != nil {
		return err
	}
	rows, total, err := metadb.ListXComsPage(r.Context(), s.db.Pool, f, page)
	if err != nil {
		return err
	}
	out := make([]xcomResponse, 0, len(rows))
	for _, x := range rows {
		out = append(out, xcomResp(x))
	}
	writeJSON(w, http.StatusOK, map[string]any{"xcom_entries": out, "total_entries": total})
	return nil
}

func xcomNotFound(k metadb.TIKey, key string) error {
	return errorf(http.StatusNotFound, "XCom entry with key: `%s` not found", key)
}

func (s *Server) loadXCom(ctx context.Context, k metadb.TIKey, key string) (*metadb.XComRow, error) {
	mi := k.MapIndex
	rows, _, err := metadb.ListXComsPage(ctx, s.db.Pool, metadb.XComFilter{DagID: k.DagID, RunID: k.RunID, TaskID: k.TaskID, Key: key, MapIndex: &mi},
		metadb.Page{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, xcomNotFound(k, key)
	}
	return rows[0], nil
}

// getXComEntry answers the value as stored (JSON); with stringify, as text.
func (s *Server) getXComEntry(w http.ResponseWriter, r *http.Request) error {
	k, err := tiKey(r)
	if err != nil {
		return err
	}
	q := newQuery(r)
	stringify := q.boolOr("stringify", false)
	q.boolOr("deserialize", false)
	if err := q.err(); err != nil {
		return err
	}
	x, err := s.loadXCom(r.Context(), k, r.PathValue("xcom_key"))
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(x.Value, &v); err != nil {
		return err
	}
	if stringify {
		if str, ok := v.(string); ok {
			v = str
		} else {
			v = string(x.Value)
		}
	}
	writeJSON(w, http.StatusOK, xcomValueResponse{xcomResponse: xcomResp(x), Value: v})
	return nil
}

type xcomBody struct {
	Key      string          `json:"key"`
	Value    json.RawMessage `json:"value"`
	MapIndex *int            `json:"map_index"`
}

// xcomTarget checks that the task instance exists and returns its key.
func (s *Server) xcomTarget(r *http.Request, mapIndex *int) (metadb.TIKey, error) {
	k := metadb.TIKey{DagID: r.PathValue("dag_id"), RunID: r.PathValue("dag_run_id"), TaskID: r.PathValue("task_id"), MapIndex: -1}
	if mapIndex != nil {
		k.MapIndex = *mapIndex
	}
	if _, _, err := s.loadTI(r.Context(), k); err != nil {
		return k, err
	}
	return k, nil
}

func (s *Server) createXComEntry(w http.ResponseWriter, r *http.Request) error {
	var b xcomBody
	if err := decodeBody(r, &b, "key", "value"); err != nil {
		return err
	}
	k, err := s.xcomTarget(r, b.MapIndex)
	if err != nil {
		return err
	}
	err = metadb.InsertXCom(r.Context(), s.db.Pool, k, b.Key, b.Value)
	switch {
	case errors.Is(err, metadb.ErrDuplicateXCom):
		return errorf(http.StatusBadRequest, "The XCom with key: `%s` with mentioned task instance already exists.", b.Key)
	case errors.Is(err, metadb.ErrXComTooLarge):
		return errorf(http.StatusBadRequest, "%s", err.Error())
	case err != nil:
		return err
	}
	mi := k.MapIndex
	s.audit(r, "create_xcom_entry", metadb.Event{DagID: &k.DagID, RunID: &k.RunID, TaskID: &k.TaskID, MapIndex: &mi}, map[string]any{"key": b.Key})
	x, err := s.loadXCom(r.Context(), k, b.Key)
	if err != nil {
		return err
	}
	var v any
	_ = json.Unmarshal(x.Value, &v)
	writeJSON(w, http.StatusCreated, xcomValueResponse{xcomResponse: xcomResp(x), Value: v})
	return nil
}

func (s *Server) updateXComEntry(w http.ResponseWriter, r *http.Request) error {
	var b xcomBody
	if err := decodeBody(r, &b, "value"); err != nil {
		return err
	}
	k, err := s.xcomTarget(r, b.MapIndex)
	if err != nil {
		return err
	}
	key := r.PathValue("xcom_key")
	err = metadb.UpdateXCom(r.Context(), s.db.Pool, k, key, b.Value)
	switch {
	case errors.Is(err, metadb.ErrNotFound):
		return xcomNotFound(k, key)
	case errors.Is(err, metadb.ErrXComTooLarge):
		return errorf(http.StatusBadRequest, "%s", err.Error())
	case err != nil:
		return err
	}
	mi := k.MapIndex
	s.audit(r, "update_xcom_entry", metadb.Event{DagID: &k.DagID, RunID: &k.RunID, TaskID: &k.TaskID, MapIndex: &mi}, map[string]any{"key": key})
	x, err := s.loadXCom(r.Context(), k, key)
	if err != nil {
		return err
	}
	var v any
	_ = json.Unmarshal(x.Value, &v)
	writeJSON(w, http.StatusOK, xcomValueResponse{xcomResponse: xcomResp(x), Value: v})
	return nil
}

func (s *Server) deleteXComEntry(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	mi := q.intOr("map_index", -1, -1)
	if err := q.err(); err != nil {
		return err
	}
	k := metadb.TIKey{DagID: r.PathValue("dag_id"), RunID: r.PathValue("dag_run_id"), TaskID: r.PathValue("task_id"), MapIndex: mi}
	key := r.PathValue("xcom_key")
	if err := metadb.DeleteXCom(r.Context(), s.db.Pool, k, key); errors.Is(err, metadb.ErrNotFound) {
		return xcomNotFound(k, key)
	} else if err != nil {
		return err
	}
	s.audit(r, "delete_xcom_entry", metadb.Event{DagID: &k.DagID, RunID: &k.RunID, TaskID: &k.TaskID, MapIndex: &mi}, map[string]any{"key": key})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
