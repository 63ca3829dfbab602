package flower

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gust-sched/gust/common/monitor"
)

// apiTasks is Flower's GET /api/tasks: the task history, as an object
// keyed by task id in the listed order, with Flower's filters.
func (s *Server) apiTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := 0, 0
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			writeError(w, http.StatusBadRequest, errBadParam("limit"))
			return
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			writeError(w, http.StatusBadRequest, errBadParam("offset"))
			return
		}
	}
	f := monitor.TaskFilter{Worker: q.Get("workername"), Name: q.Get("taskname"), State: q.Get("state"), Search: q.Get("search"), DagID: q.Get("dag_id")}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"received_start", &f.ReceivedStart}, {"received_end", &f.ReceivedEnd}} {
		if v := q.Get(p.name); v != "" {
			t, err := parseFlowerTime(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, errBadParam(p.name))
				return
			}
			*p.dst = &t
		}
	}
	tasks, err := s.reader.Tasks(r.Context(), f, q.Get("sort_by"), offset, limit)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	writeOrdered(w, tasks)
}

// writeOrdered writes tasks as a JSON object keyed by uuid, in order (as
// Flower's OrderedDict).
func writeOrdered(w http.ResponseWriter, tasks []monitor.Task) {
	w.Header().Set("Content-Type", "application/json")
	buf := []byte{'{'}
	for i, t := range tasks {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, _ := json.Marshal(t["uuid"])
		v, _ := json.Marshal(t)
		buf = append(append(append(buf, k...), ':'), v...)
	}
	buf = append(buf, '}')
	_, _ = w.Write(buf)
}

// apiTaskInfo is Flower's GET /api/task/info/{id}.
func (s *Server) apiTaskInfo(w http.ResponseWriter, r *http.Request) {
	t, err := s.reader.Task(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	if t == nil {
		writeError(w, http.StatusNotFound, errUnknownTask(r.PathValue("id")))
		return
	}
	writeJSON(w, t)
}

// apiTaskTypes is Flower's GET /api/task/types.
func (s *Server) apiTaskTypes(w http.ResponseWriter, r *http.Request) {
	types, err := s.reader.TaskTypes(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, map[string]any{"task-types": types})
}

// parseFlowerTime reads Flower's "YYYY-MM-DD HH:MM" (or RFC 3339).
func parseFlowerTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errBadParam(s)
}

type paramError string

func (e paramError) Error() string { return string(e) }

func errBadParam(name string) error { return paramError("invalid value for " + name) }

func errUnknownTask(id string) error { return paramError("Unknown task '" + id + "'") }

// apiQueuesLength is Flower's GET /api/queues/length.
func (s *Server) apiQueuesLength(w http.ResponseWriter, r *http.Request) {
	if s.opts.Control == nil {
		writeError(w, http.StatusServiceUnavailable, paramError("queue lengths need the broker"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	v, err := s.broker(ctx)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	qs := make([]map[string]any, 0, len(v.Queues))
	for _, q := range v.Queues {
		qs = append(qs, map[string]any{"name": q.Name, "messages": q.Ready, "consumers": q.Consumers})
	}
	writeJSON(w, map[string]any{"active_queues": qs})
}
