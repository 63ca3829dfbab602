package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"

	"github.com/gust-sched/gust/common/tistate"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/scheduler"
)

type tiPatchBody struct {
	NewState          *string         `json:"new_state"`
	Note              json.RawMessage `json:"note"`
	IncludeUpstream   bool            `json:"include_upstream"`
	IncludeDownstream bool            `json:"include_downstream"`
	IncludeFuture     bool            `json:"include_future"`
	IncludePast       bool            `json:"include_past"`
}

// patchTI reads a TI PATCH and finds the task instances it changes.
func (s *Server) patchTI(r *http.Request) (metadb.TIKey, tiPatchBody, map[string]bool, error) {
	var b tiPatchBody
	k, err := tiKey(r)
	if err != nil {
		return k, b, nil, err
	}
	q := newQuery(r)
	if err := checkUpdateMask(q, "new_state", "note"); err != nil {
		return k, b, nil, err
	}
	if err := decodeBody(r, &b); err != nil {
		return k, b, nil, err
	}
	mask := map[string]bool{}
	for _, f := range q.list("update_mask") {
		mask[f] = true
	}
	if len(mask) == 0 {
		mask = map[string]bool{"new_state": b.NewState != nil, "note": len(b.Note) > 0}
	}
	if mask["new_state"] {
		if b.NewState == nil {
			return k, b, nil, invalid("Field required", "missing", "body", "new_state")
		}
		switch *b.NewState {
		case tistate.Success, tistate.Failed, tistate.Skipped:
		default:
			return k, b, nil, invalid("Input should be 'success', 'failed' or 'skipped'", "enum", "body", "new_state")
		}
	}
	if _, _, err := s.loadTI(r.Context(), k); err != nil {
		return k, b, nil, err
	}
	return k, b, mask, nil
}

// affectedTasks lists the task ids a state change reaches in the run.
func (s *Server) affectedTasks(ctx context.Context, k metadb.TIKey, b tiPatchBody) ([]string, error) {
	run, err := s.loadRun(ctx, k.DagID, k.RunID)
	if err != nil {
		return nil, err
	}
	dag, err := s.dags.Get(ctx, s.db.Pool, run.DagHash)
	if err != nil {
		return nil, err
	}
	ids := []string{k.TaskID}
	seen := map[string]bool{k.TaskID: true}
	down := downstreamOf(dag)
	var walk func(id string, next func(string) []string)
	walk = func(id string, next func(string) []string) {
		for _, n := range next(id) {
			if !seen[n] {
				seen[n] = true
				ids = append(ids, n)
				walk(n, next)
			}
		}
	}
	if b.IncludeUpstream {
		walk(k.TaskID, func(x string) []string {
			if t := dag.Task(x); t != nil {
				return t.Upstream
			}
			return nil
		})
	}
	if b.IncludeDownstream {
		walk(k.TaskID, func(x string) []string { return down[x] })
	}
	sort.Strings(ids)
	return ids, nil
}

func (s *Server) patchTaskInstanceDryRun(w http.ResponseWriter, r *http.Request) error {
	k, b, mask, err := s.patchTI(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ids := []string{k.TaskID}
	if mask["new_state"] {
		if ids, err = s.affectedTasks(ctx, k, b); err != nil {
			return err
		}
	}
	keys := make([]metadb.TIKey, 0, len(ids))
	for _, id := range ids {
		mi := -1 // every instance
		if id == k.TaskID {
			mi = k.MapIndex
		}
		keys = append(keys, metadb.TIKey{DagID: k.DagID, RunID: k.RunID, TaskID: id, MapIndex: mi})
	}
	out, err := s.tisByKey(ctx, keys)
	if err != nil {
		return err
	}
	if mask["new_state"] {
		// Those already in the new state would not change.
		kept := out.TaskInstances[:0]
		for _, t := range out.TaskInstances {
			if t.State == nil || *t.State != *b.NewState {
				kept = append(kept, t)
			}
		}
		out.TaskInstances, out.TotalEntries = kept, len(kept)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) patchTaskInstance(w http.ResponseWriter, r *http.Request) error {
	k, b, mask, err := s.patchTI(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	changed := []string{k.TaskID}
	if mask["new_state"] {
		req := scheduler.SetStateRequest{DagID: k.DagID, RunID: k.RunID, TaskID: k.TaskID,
			State: *b.NewState, Upstream: b.IncludeUpstream, Downstream: b.IncludeDownstream}
		if k.MapIndex >= 0 {
			req.MapIndex = &k.MapIndex
		}
		ids, err := scheduler.SetState(ctx, s.db, req)
		if errors.Is(err, scheduler.ErrInvalidTrigger) {
			return errorf(http.StatusBadRequest, "%s", err.Error())
		}
		if err != nil {
			return err
		}
		changed = append(ids, k.TaskID)
	}
	if mask["note"] {
		var note *string
		if string(b.Note) != "null" {
			var n string
			if err := json.Unmarshal(b.Note, &n); err != nil {
				return invalid("Input should be a valid string", "string_type", "body", "note")
			}
			note = &n
		}
		if err := metadb.SetTINote(ctx, s.db.Pool, k, note); err != nil {
			return err
		}
	}
	mi := k.MapIndex
	s.audit(r, "patch_task_instance", metadb.Event{DagID: &k.DagID, RunID: &k.RunID, TaskID: &k.TaskID, MapIndex: &mi}, b)
	keys := []metadb.TIKey{}
	seen := map[string]bool{}
	for _, id := range changed {
		if !seen[id] {
			seen[id] = true
			mi := -1 // every instance
			if id == k.TaskID {
				mi = k.MapIndex
			}
			keys = append(keys, metadb.TIKey{DagID: k.DagID, RunID: k.RunID, TaskID: id, MapIndex: mi})
		}
	}
	out, err := s.tisByKey(ctx, keys)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
