// Package metrics holds gust's Prometheus metrics (namespace gust_), built
// with client_golang: one registry per process with Go's runtime and
// process collectors, the instruments each long-lived part updates, a
// collector that reads the metadata database at scrape time, and the
// /metrics listener of [metrics] host and port.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	httppprof "net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "gust"

// NewRegistry returns a registry with Go's runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves a registry in the text format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// Serve serves /metrics on addr until ctx ends. A port already taken (two
// processes on one host with the same [metrics] port) is a warning, not a
// failure: metrics never stop a scheduler or a worker.
// With pprof it also serves Go's profiles under /debug/pprof/.
func Serve(ctx context.Context, addr string, reg *prometheus.Registry, pprof bool, logger *slog.Logger) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logger.Warn("metrics: cannot listen; /metrics is not served by this process (set [metrics] port)", "addr", addr, "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler(reg))
	if pprof {
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("metrics server stopped", "err", err)
	}
}

// Scheduler are a scheduler's instruments.
type Scheduler struct {
	LoopDuration prometheus.Histogram
	TIsQueued    prometheus.Counter
	RunsCreated  prometheus.Counter
}

// NewScheduler registers a scheduler's instruments.
func NewScheduler(reg prometheus.Registerer) *Scheduler {
	m := &Scheduler{
		LoopDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Subsystem: "scheduler",
			Name: "loop_duration_seconds", Help: "Time one scheduler loop (create runs, examine runs, queue tries) took.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		TIsQueued: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: "scheduler",
			Name: "tis_queued_total", Help: "Task instance tries this scheduler queued and published."}),
		RunsCreated: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Subsystem: "scheduler",
			Name: "dag_runs_created_total", Help: "DAG runs this scheduler created from timetables."}),
	}
	reg.MustRegister(m.LoopDuration, m.TIsQueued, m.RunsCreated)
	return m
}

// NewParseDuration registers the DAG processor's parse time histogram (the
// DAG and import error counts come from the database collector).
func NewParseDuration(reg prometheus.Registerer) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Subsystem: "dag_processing",
		Name: "file_parse_duration_seconds", Help: "Time one DAG file took to parse.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	reg.MustRegister(h)
	return h
}

// Worker are a worker's instruments.
type Worker struct {
	Tries   *prometheus.CounterVec
	Running prometheus.Gauge
	Runtime prometheus.Histogram
}

// NewWorker registers a worker's instruments.
func NewWorker(reg prometheus.Registerer) *Worker {
	m := &Worker{
		Tries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: "worker",
			Name: "tries_total", Help: "Tries this worker ran, by the state they ended in."}, []string{"state"}),
		Running: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Subsystem: "worker",
			Name: "running_tries", Help: "Tries running on this worker now."}),
		Runtime: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Subsystem: "worker",
			Name: "try_duration_seconds", Help: "Run time of the tries this worker ran.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 18)}),
	}
	reg.MustRegister(m.Tries, m.Running, m.Runtime)
	return m
}
