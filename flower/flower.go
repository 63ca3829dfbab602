// Package flower is gust's small Flower-like monitor: an HTTP server that
// shows workers and task events from the Redis monitor plane only, so it
// keeps working (with stale data) whatever the database or broker do.
package flower

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/common/monitor"
)

// Options configure the server.
type Options struct {
	Addr string // host:port
	// Control sends worker remote-control commands and reads queue depths
	// (nil: the control endpoints answer 503, queues are not shown).
	Control *broker.Control
	// Management is RabbitMQ's management API ([flower] broker_api; nil:
	// the broker page shows what AMQP gives).
	Management *broker.Management
	// DefaultQueue is [celery] default_queue, always among the queues shown.
	DefaultQueue string
	// BasicAuth are [flower] basic_auth's users and passwords (none: open).
	BasicAuth map[string]string
	// Tokens checks the REST API's tokens, accepted beside BasicAuth.
	Tokens *auth.Tokens
	// APILogin, when set ([flower] api_users), lets the REST API's users in
	// with their passwords (basic auth), checked by the api-server.
	APILogin APILogin
	// URLPrefix serves everything under a path ("" or "/prefix").
	URLPrefix string
	// ReadOnly hides and refuses control.
	ReadOnly bool
	// SampleInterval is the dashboard's step (default 10 s).
	SampleInterval time.Duration
	// WebUIURL is the api-server's address, for links to a try's log.
	WebUIURL string
}

// Server serves the monitor.
type Server struct {
	opts    Options
	reader  *monitor.Reader
	logger  *slog.Logger
	metrics *flowerMetrics
	dash    *dashboard

	loginMu sync.Mutex
	logins  map[[32]byte]cachedLogin

	brokerMu   sync.Mutex
	brokerLast brokerView
	brokerAt   time.Time
}

// New returns a server.
func New(opts Options, reader *monitor.Reader, logger *slog.Logger) *Server {
	opts.URLPrefix = NormalizePrefix(opts.URLPrefix)
	s := &Server{opts: opts, reader: reader, logger: logger, logins: map[[32]byte]cachedLogin{}}
	s.dash = newDashboard(s, opts.SampleInterval)
	s.metrics = newFlowerMetrics(reader, s.broker, logger)
	s.metrics.onEvent, s.metrics.onWait = s.dash.observe, s.dash.observeWait
	return s
}

// Handler returns the HTTP routes, under the URL prefix and behind the
// authentication.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/workers", s.apiWorkers)
	mux.HandleFunc("GET /api/events", s.apiEvents)
	mux.HandleFunc("GET /api/tasks", s.apiTasks)
	mux.HandleFunc("GET /api/task/info/{id}", s.apiTaskInfo)
	mux.HandleFunc("GET /api/task/types", s.apiTaskTypes)
	mux.HandleFunc("GET /api/queues/length", s.apiQueuesLength)
	mux.HandleFunc("GET /api/broker", s.apiBroker)
	mux.HandleFunc("GET /api/dashboard", s.apiDashboard)
	s.controlRoutes(mux)
	// Flower's health check path, and the usual /healthz.
	health := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "OK")
	}
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /healthcheck", health)
	mux.HandleFunc("GET /healthz", health)
	s.uiRoutes(mux)
	var h http.Handler = mux
	if p := s.opts.URLPrefix; p != "" {
		outer := http.NewServeMux()
		outer.Handle(p+"/", http.StripPrefix(p, mux))
		outer.Handle(p, http.RedirectHandler(p+"/", http.StatusMovedPermanently))
		h = outer
	}
	return s.authenticate(h)
}

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("flower: listen on %s: %w", s.opts.Addr, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	s.logger.Info("flower listening", "addr", "http://"+ln.Addr().String()+s.opts.URLPrefix+"/", "read_only", s.opts.ReadOnly, "basic_auth", len(s.opts.BasicAuth) > 0, "api_users", s.opts.APILogin != nil)
	followCtx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	go s.metrics.follow(followCtx)
	go s.dash.run(followCtx)
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
		"pool":       map[string]any{"implementation": "gust", "max-concurrency": x.Concurrency, "processes": []int{}},
		"autoscaler": map[string]any{"max": x.AutoscaleMax, "min": x.AutoscaleMin, "qty": x.Concurrency},
		"total":      map[string]int64{"processed": x.Processed, "succeeded": x.Succeeded, "failed": x.Failed, "retried": x.Retried},
	}
	if len(x.LoadAvg) > 0 {
		info["stats"].(map[string]any)["rusage"] = map[string]any{}
		info["loadavg"] = x.LoadAvg
	}
	info["active_queues"] = queues
	info["registered"], info["scheduled"], info["reserved"], info["revoked"] = []string{}, []any{}, []any{}, []string{}
	active := make([]map[string]any, 0, len(x.Running))
	for _, t := range x.Running {
		active = append(active, map[string]any{"id": t.ID, "name": t.DagID + "." + t.TaskID, "hostname": x.Hostname,
			"time_start": float64(t.Started.UnixNano()) / 1e9, "worker_pid": x.PID, "acknowledged": true,
			"dag_id": t.DagID, "run_id": t.RunID, "task_id": t.TaskID, "map_index": t.MapIndex, "try_number": t.TryNumber})
	}
	info["active"] = active
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
