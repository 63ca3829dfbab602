// Package apiserver is `gust api-server`: Airflow 3's REST API (/api/v2, in
// the shapes of Airflow's OpenAPI spec) with its token login (POST
// /auth/token), on PostgreSQL only. It keeps no state of its own, so any
// number of api-servers can serve one cluster behind a load balancer.
//
// Handlers live in one file per resource (dags.go, dagruns.go, ...); their
// response types in types.go; queries in metadb. Every write checks the
// caller's role and appends to the audit log. It also serves the web UI
// (package webui) on /, with the UI's session login and private /ui/...
// endpoints in ui.go.
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/metadb"
	"github.com/gust-sched/gust/metrics"
	"github.com/gust-sched/gust/webui"
)

// Options configures an api-server.
type Options struct {
	Addr           string // host:port to listen on
	DagsFolder     string // for relative_fileloc
	Version        string
	JWTSecret      string
	JWTExpiration  time.Duration
	ExposeConfig   bool
	TestConnection bool
	// Metrics is served on /metrics (no token: keep the api-server on a
	// network Prometheus may reach); nil serves nothing.
	Metrics *prometheus.Registry
	// Config lists the effective configuration for GET /api/v2/config
	// (secrets already hidden); nil serves nothing.
	Config func() []ConfigOption
	// DefaultQueue is [celery] default_queue, for the task instances of
	// triggered runs; AllowTriggerInFuture is [scheduler]'s key.
	DefaultQueue         string
	AllowTriggerInFuture bool
	MaxActiveRunsPerDag  int
	MaxActiveTasksPerDag int
}

// ConfigOption is one configuration key as /api/v2/config shows it.
type ConfigOption struct {
	Section, Key, Value, Source string
}

// Server serves the API. Create it with New and start it with Run.
type Server struct {
	opts   Options
	db     *metadb.DB
	kr     *secrets.Keyring
	tokens *auth.Tokens
	logger *slog.Logger
	dags   *metadb.DAGCache
	now    func() time.Time
}

// New returns a server.
func New(opts Options, db *metadb.DB, kr *secrets.Keyring, logger *slog.Logger) (*Server, error) {
	tokens, err := auth.NewTokens(opts.JWTSecret, opts.JWTExpiration)
	if err != nil {
		return nil, err
	}
	return &Server{opts: opts, db: db, kr: kr, tokens: tokens, logger: logger,
		dags: metadb.NewDAGCache(256), now: time.Now}, nil
}

// Run listens until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("api-server: listen on %s: %w", s.opts.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	s.logger.Info("api-server listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api-server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("api-server shutdown: %w", err)
	}
	return nil
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	r := &router{mux: mux, s: s}
	mux.HandleFunc("POST /auth/token", s.postToken)
	if s.opts.Metrics != nil {
		mux.Handle("GET /metrics", metrics.Handler(s.opts.Metrics))
	}
	mux.HandleFunc("POST "+loginPage, s.postLogin)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "/api/v1 has been removed in Airflow 3, please use its upgraded version /api/v2 instead.")
	})
	r.public("GET /api/v2/version", s.getVersion)
	r.public("GET /api/v2/monitor/health", s.getHealth)
	s.routesDAGs(r)
	s.routesDagRuns(r)
	s.routesTaskInstances(r)
	s.routesXComs(r)
	s.routesBackfills(r)
	s.routesAdmin(r)
	s.routesEmpty(r)
	s.routesAssets(r)
	s.routesUI(r)
	s.routesFABUsers(r)
	mux.HandleFunc("/api/v2/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found")
	})
	for _, prefix := range []string{"/ui/", "/auth/fab/"} { // JSON 404s, not the UI's login redirect
		mux.HandleFunc(prefix, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, "Not Found")
		})
	}
	mux.Handle("/", webui.Handler(s.hasSession))
	return s.recoverer(mux)
}

// recoverer turns a handler's panic (a bug) into a 500 with a log line,
// rather than a dropped connection.
func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.Error("api handler panicked", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeError(w, http.StatusInternalServerError, "Internal Server Error")
			}
		}()
		h.ServeHTTP(w, r)
	})
}
