// Package flower is gust's small Flower-like monitor: an HTTP server that
// shows workers and task events from the Redis monitor plane only, so it
// keeps working (with stale data) whatever the database or broker do.
package flower

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/common/monitor"
)

// Options configure the server.
type Options struct {
	Addr string // host:port
	// Control sends worker remote-control commands and reads queue depths
	// (nil: the control endpoints answer 503, queues are not shown).
	Control *broker.Control
	// DefaultQueue is [celery] default_queue, always among the queues shown.
	DefaultQueue string
}

// Server serves the monitor.
type Server struct {
	opts    Options
	reader  *monitor.Reader
	logger  *slog.Logger
	metrics *flowerMetrics
}

// New returns a server.
func New(opts Options, reader *monitor.Reader, logger *slog.Logger) *Server {
	s := &Server{opts: opts, reader: reader, logger: logger}
	s.metrics = newFlowerMetrics(reader, s.queueStats, logger)
	return s
}

// Handler returns the HTTP routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/workers", s.apiWorkers)
	mux.HandleFunc("GET /api/events", s.apiEvents)
	mux.HandleFunc("GET /api/tasks", s.apiTasks)
	mux.HandleFunc("GET /api/task/info/{id}", s.apiTaskInfo)
	mux.HandleFunc("GET /api/task/types", s.apiTaskTypes)
	mux.HandleFunc("GET /api/queues/length", s.apiQueuesLength)
	s.controlRoutes(mux)
	// Flower's health check path, and the usual /healthz.
	health := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "OK")
	}
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /healthcheck", health)
	mux.HandleFunc("GET /healthz", health)
	mux.HandleFunc("GET /{$}", s.index)
	return mux
}

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("flower: listen on %s: %w", s.opts.Addr, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	s.logger.Info("flower listening", "addr", "http://"+ln.Addr().String()+"/")
	followCtx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	go s.metrics.follow(followCtx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("flower: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("flower: shutdown: %w", err)
	}
	return nil
}

// apiWorkers is Flower's GET /api/workers: an object keyed by worker name
// with the keys Flower takes from Celery's inspect (stats, active_queues,
// ...) beside gust's status fields; `workername` selects one, `status=true`
// answers {name: online}. `refresh` is accepted: the data is always live.
func (s *Server) apiWorkers(w http.ResponseWriter, r *http.Request) {
	ws, err := s.reader.Workers(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	q := r.URL.Query()
	name := q.Get("workername")
	if name != "" {
		found := ws[:0]
		for _, x := range ws {
			if x.Hostname == name {
				found = append(found, x)
			}
		}
		if len(found) == 0 {
			writeError(w, http.StatusNotFound, fmt.Errorf("Unknown worker '%s'", name))
			return
		}
		ws = found
	}
	if b, _ := strconv.ParseBool(q.Get("status")); b {
		out := map[string]bool{}
		for _, x := range ws {
			out[x.Hostname] = x.Status == monitor.Online
		}
		writeJSON(w, out)
		return
	}
	out := map[string]any{}
	for _, x := range ws {
		out[x.Hostname] = workerInfo(x)
	}
	writeJSON(w, out)
}

// workerInfo is one worker as Flower shows it: Celery inspect's keys with
// what gust knows, and gust's own status fields beside them.
func workerInfo(x monitor.WorkerStatus) map[string]any {
	b, _ := json.Marshal(x)
	info := map[string]any{}
	_ = json.Unmarshal(b, &info)
	queues := make([]map[string]any, 0, len(x.Queues))
	for _, q := range x.Queues {
		queues = append(queues, map[string]any{"name": q, "routing_key": q, "durable": true, "exclusive": false, "auto_delete": false})
	}
	uptime := 0.0
	if !x.StartedAt.IsZero() {
		uptime = x.LastHeartbeat.Sub(x.StartedAt).Seconds()
	}
	info["stats"] = map[string]any{
		"pid": x.PID, "uptime": int(uptime),
		"pool":  map[string]any{"implementation": "gust", "max-concurrency": x.Concurrency, "processes": []int{}},
		"total": map[string]int64{"processed": x.Processed, "succeeded": x.Succeeded, "failed": x.Failed, "retried": x.Retried},
	}
	if len(x.LoadAvg) > 0 {
		info["stats"].(map[string]any)["rusage"] = map[string]any{}
		info["loadavg"] = x.LoadAvg
	}
	info["active_queues"] = queues
	info["registered"], info["scheduled"], info["reserved"], info["revoked"] = []string{}, []any{}, []any{}, []string{}
	info["active"] = []any{}
	info["conf"] = map[string]any{"worker_concurrency": x.Concurrency}
	info["timestamp"] = float64(x.LastHeartbeat.UnixNano()) / 1e9
	return info
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	n := int64(100)
	if v := r.URL.Query().Get("limit"); v != "" {
		l, err := strconv.ParseInt(v, 10, 64)
		if err != nil || l < 1 || l > 10000 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("limit must be an integer between 1 and 10000"))
			return
		}
		n = l
	}
	evs, err := s.reader.Events(r.Context(), n)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, evs)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": code, "detail": err.Error()})
}

var page = template.Must(template.New("index").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Truncate(time.Second).String() + " ago"
	},
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>gust flower</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.online{color:#080}.offline{color:#a00}</style></head><body>
<h1>gust workers</h1>
{{if .Err}}<p class="offline">Redis unreachable: {{.Err}} (data below may be stale or missing)</p>{{end}}
<table><tr><th>Hostname</th><th>Status</th><th>Queues</th><th>Concurrency</th><th>Active</th><th>Processed</th><th>Succeeded</th><th>Failed</th><th>Retried</th><th>Last heartbeat</th></tr>
{{range .Workers}}<tr><td>{{.Hostname}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{range $i, $q := .Queues}}{{if $i}}, {{end}}{{$q}}{{end}}</td><td>{{.Concurrency}}</td><td>{{.Active}}</td><td>{{.Processed}}</td><td>{{.Succeeded}}</td><td>{{.Failed}}</td><td>{{.Retried}}</td><td>{{ago .LastHeartbeat}}</td></tr>
{{else}}<tr><td colspan="10">No worker has reported yet.</td></tr>{{end}}
</table>
<h2>Latest task events</h2>
<table><tr><th>Time</th><th>Event</th><th>Worker</th><th>DAG</th><th>Run</th><th>Task</th><th>Try</th><th>Reason</th></tr>
{{range .Events}}<tr><td>{{.Time.Format "2006-01-02 15:04:05"}}</td><td>{{.Type}}</td><td>{{.Hostname}}</td><td>{{.DagID}}</td><td>{{.RunID}}</td><td>{{.TaskID}}</td><td>{{if .TryNumber}}{{.TryNumber}}{{end}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>
<p>JSON: <a href="/api/workers">/api/workers</a>, <a href="/api/events">/api/events</a></p>
</body></html>
`))

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Workers []monitor.WorkerStatus
		Events  []monitor.Event
		Err     error
	}{}
	var err error
	if data.Workers, err = s.reader.Workers(r.Context()); err != nil {
		data.Err = err
	} else if data.Events, err = s.reader.Events(r.Context(), 50); err != nil {
		data.Err = err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, data); err != nil {
		s.logger.Warn("flower: render page", "err", err)
	}
}
