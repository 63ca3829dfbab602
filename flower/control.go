package flower

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/common/monitor"
)

// controlRoutes adds Flower's worker-control endpoints, with Flower's
// answers: {"message": ...} on success; 404 for a worker the monitor does
// not know, 400 for a bad argument, 403 when the worker refused or did not
// answer, 503 when there is no control plane.
func (s *Server) controlRoutes(mux *http.ServeMux) {
	ctl := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !s.controlAllowed(w, r) {
				return
			}
			// Every control request is recorded with who made it.
			s.logger.Info("flower: control request", "user", callerOf(r.Context()).name, "path", r.URL.Path, "query", r.URL.RawQuery, "remote", r.RemoteAddr)
			h(w, r)
		}
	}
	mux.HandleFunc("POST /api/worker/shutdown/{worker}", ctl(s.workerShutdown))
	mux.HandleFunc("POST /api/worker/pool/grow/{worker}", ctl(s.workerPool("pool_grow")))
	mux.HandleFunc("POST /api/worker/pool/shrink/{worker}", ctl(s.workerPool("pool_shrink")))
	mux.HandleFunc("POST /api/worker/pool/autoscale/{worker}", ctl(s.workerAutoscale))
	mux.HandleFunc("POST /api/task/revoke/{id}", ctl(s.taskRevoke))
	mux.HandleFunc("POST /api/worker/queue/add-consumer/{worker}", ctl(s.workerQueue("add_consumer")))
	mux.HandleFunc("POST /api/worker/queue/cancel-consumer/{worker}", ctl(s.workerQueue("cancel_consumer")))
}

// knownWorker writes the error answer and returns "" unless the monitor
// knows the worker named in the path.
func (s *Server) knownWorker(w http.ResponseWriter, r *http.Request) string {
	name := r.PathValue("worker")
	if s.opts.Control == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("worker control is not available (no broker)"))
		return ""
	}
	ws, err := s.reader.Workers(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return ""
	}
	if !slices.ContainsFunc(ws, func(x monitor.WorkerStatus) bool { return x.Hostname == name }) {
		writeError(w, http.StatusNotFound, fmt.Errorf("Unknown worker '%s'", name))
		return ""
	}
	return name
}

// call sends cmd to one worker and returns its reply, or writes a 403 with
// why there is none.
func (s *Server) call(w http.ResponseWriter, r *http.Request, name, command string, args map[string]any, failure string) (broker.Reply, bool) {
	replies, err := s.opts.Control.Call(r.Context(), broker.Command{Name: command, Destination: []string{name}, Arguments: args}, 0)
	reason := "Unknown reason"
	switch {
	case err != nil:
		s.logger.Warn("flower: worker control failed", "command", command, "worker", name, "err", err)
		reason = err.Error()
	case len(replies) == 0:
		reason = "no reply"
	case replies[0].Error != "":
		reason = replies[0].Error
	default:
		return replies[0], true
	}
	writeError(w, http.StatusForbidden, fmt.Errorf("%s: %s", failure, reason))
	return broker.Reply{}, false
}

func (s *Server) workerShutdown(w http.ResponseWriter, r *http.Request) {
	name := s.knownWorker(w, r)
	if name == "" {
		return
	}
	if _, ok := s.call(w, r, name, "shutdown", nil, fmt.Sprintf("Failed to shut down '%s'", name)); !ok {
		return
	}
	s.logger.Info("flower: shutting down a worker", "worker", name)
	writeJSON(w, map[string]string{"message": "Shutting down!"})
}

func (s *Server) workerPool(command string) http.HandlerFunc {
	verb, failure := "Growing", "Failed to grow '%s' worker's pool"
	if command == "pool_shrink" {
		verb, failure = "Shrinking", "Failed to shrink '%s' worker's pool"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		n := 1
		if v := r.FormValue("n"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 1 {
				writeError(w, http.StatusBadRequest, fmt.Errorf("n must be a positive integer (got %q)", v))
				return
			}
		}
		name := s.knownWorker(w, r)
		if name == "" {
			return
		}
		if _, ok := s.call(w, r, name, command, map[string]any{"n": n}, fmt.Sprintf(failure, name)); !ok {
			return
		}
		writeJSON(w, map[string]string{"message": fmt.Sprintf("%s worker's pool by %d", verb, n)})
	}
}

func (s *Server) workerQueue(command string) http.HandlerFunc {
	failure := "Failed to add '%s' consumer to '%s' worker"
	if command == "cancel_consumer" {
		failure = "Failed to cancel '%s' consumer from '%s' worker"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		queue := r.FormValue("queue")
		if queue == "" {
			writeError(w, http.StatusBadRequest, errors.New("Missing argument queue"))
			return
		}
		name := s.knownWorker(w, r)
		if name == "" {
			return
		}
		reply, ok := s.call(w, r, name, command, map[string]any{"queue": queue}, fmt.Sprintf(failure, queue, name))
		if !ok {
			return
		}
		writeJSON(w, map[string]string{"message": reply.OK})
	}
}

// workerAutoscale is Flower's POST /api/worker/pool/autoscale/{w}?min=&max=.
func (s *Server) workerAutoscale(w http.ResponseWriter, r *http.Request) {
	hi, err1 := strconv.Atoi(r.FormValue("max"))
	lo, err2 := strconv.Atoi(r.FormValue("min"))
	if err1 != nil || err2 != nil || lo < 1 || hi < lo {
		writeError(w, http.StatusBadRequest, errors.New("Invalid autoscale min/max value"))
		return
	}
	name := s.knownWorker(w, r)
	if name == "" {
		return
	}
	if _, ok := s.call(w, r, name, "autoscale", map[string]any{"max": hi, "min": lo}, fmt.Sprintf("Failed to autoscale '%s' worker", name)); !ok {
		return
	}
	writeJSON(w, map[string]string{"message": fmt.Sprintf("Autoscaling '%s' worker (min=%d, max=%d)", name, lo, hi)})
}

// taskRevoke is Flower's POST /api/task/revoke/{id}: with terminate=true
// the worker running the try stops it and it ends failed, without a retry
// (Airflow's mark-failed). gust does not revoke a try that has not started
// (terminate=false): clear or mark it through the REST API instead.
func (s *Server) taskRevoke(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	terminate, _ := strconv.ParseBool(r.FormValue("terminate"))
	if !terminate {
		writeError(w, http.StatusBadRequest, errors.New("gust revokes a running try only (terminate=true); clear or mark a waiting one through the REST API"))
		return
	}
	if s.opts.Control == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("worker control is not available (no broker)"))
		return
	}
	t, err := s.reader.Task(r.Context(), id)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	if t == nil {
		writeError(w, http.StatusNotFound, fmt.Errorf("Unknown task '%s'", id))
		return
	}
	args := map[string]any{"dag_id": t["dag_id"], "run_id": t["run_id"], "task_id": t["task_id"],
		"map_index": t["map_index"], "try_number": t["try_number"]}
	replies, err := s.opts.Control.Call(r.Context(), broker.Command{Name: "revoke", Arguments: args}, 0)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	if len(replies) == 0 {
		writeError(w, http.StatusNotFound, fmt.Errorf("no worker is running task '%s'", id))
		return
	}
	s.logger.Info("flower: revoked a try", "task", id, "worker", replies[0].Worker)
	writeJSON(w, map[string]string{"message": fmt.Sprintf("Revoked '%s'", id)})
}
