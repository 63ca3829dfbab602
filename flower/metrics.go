package flower

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gust-sched/gust/common/monitor"
	"github.com/gust-sched/gust/metrics"
)

// flowerMetrics are Flower's Prometheus series, with Flower's names, built
// from the event stream as Flower builds them from Celery's events (so, as
// in Flower, counters start again with each flower process), plus the
// workers' gauges read at scrape time.
type flowerMetrics struct {
	reg      *prometheus.Registry
	reader   *monitor.Reader
	logger   *slog.Logger
	events   *prometheus.CounterVec
	runtime  *prometheus.HistogramVec
	prefetch *prometheus.GaugeVec
	waiting  *prometheus.GaugeVec
	online   *prometheus.Desc
	running  *prometheus.Desc
	qDepth   *prometheus.Desc
	qConsum  *prometheus.Desc
	qUnacked *prometheus.Desc
	wait     *prometheus.HistogramVec
	queues   func(context.Context) (brokerView, error)
	// onEvent and onWait feed the dashboard (nil: none).
	onEvent func(monitor.Event)
	onWait  func(time.Time, float64)

	mu       sync.Mutex
	received map[string]receivedTry // try id -> when and where it was received
}

type receivedTry struct {
	at, queued   time.Time
	task, worker string
}

// maxReceived bounds the tries remembered between received and started.
const maxReceived = 100000

func newFlowerMetrics(reader *monitor.Reader, queues func(context.Context) (brokerView, error), logger *slog.Logger) *flowerMetrics {
	m := &flowerMetrics{reg: metrics.NewRegistry(), reader: reader, queues: queues, logger: logger, received: map[string]receivedTry{},
		qDepth:  prometheus.NewDesc("flower_broker_queue_messages", "Messages ready in a queue (what Flower lacks)", []string{"queue"}, nil),
		qConsum: prometheus.NewDesc("flower_broker_queue_consumers", "Consumers of a queue (what Flower lacks)", []string{"queue"}, nil),
		qUnacked: prometheus.NewDesc("flower_broker_queue_messages_unacknowledged",
			"Messages of a queue delivered to a worker and not yet acknowledged, from the management API (what Flower lacks)", []string{"queue"}, nil),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "flower_task_wait_seconds",
			Help: "Time from queued by a scheduler to started on a worker (what Flower lacks)", Buckets: prometheus.ExponentialBuckets(0.001, 2, 20)}, []string{"worker"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "flower_events_total",
			Help: "Number of events"}, []string{"worker", "type", "task"}),
		runtime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "flower_task_runtime_seconds",
			Help: "Task runtime", Buckets: prometheus.ExponentialBuckets(0.01, 2, 18)}, []string{"worker", "task"}),
		prefetch: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flower_task_prefetch_time_seconds",
			Help: "The time the task spent waiting at the worker to be executed"}, []string{"worker", "task"}),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "flower_worker_prefetched_tasks",
			Help: "Number of tasks of given type prefetched at a worker"}, []string{"worker", "task"}),
		online: prometheus.NewDesc("flower_worker_online", "Worker online status", []string{"worker"}, nil),
		running: prometheus.NewDesc("flower_worker_number_of_currently_executing_tasks",
			"Number of tasks currently executing at a worker", []string{"worker"}, nil),
	}
	m.reg.MustRegister(m.events, m.runtime, m.prefetch, m.waiting, m.wait, m)
	return m
}

// taskName is the "task" label: the DAG and task, as a Celery task name.
func taskName(e monitor.Event) string { return e.DagID + "." + e.TaskID }

func tryID(e monitor.Event) string {
	return fmt.Sprintf("%s/%s/%s/%d/%d", e.DagID, e.RunID, e.TaskID, e.MapIndex, e.TryNumber)
}

// observe updates the series for one event.
func (m *flowerMetrics) observe(e monitor.Event) {
	if e.TaskID == "" {
		return // worker-online / worker-offline: the gauges read them
	}
	task := taskName(e)
	m.events.WithLabelValues(e.Hostname, e.Type, task).Inc()
	if m.onEvent != nil {
		m.onEvent(e)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch e.Type {
	case "task-received":
		if len(m.received) < maxReceived {
			m.received[tryID(e)] = receivedTry{at: e.Time, queued: e.Queued, task: task, worker: e.Hostname}
			m.waiting.WithLabelValues(e.Hostname, task).Inc()
		}
	case "task-started":
		if r, ok := m.received[tryID(e)]; ok {
			delete(m.received, tryID(e))
			m.waiting.WithLabelValues(r.worker, r.task).Dec()
			m.prefetch.WithLabelValues(e.Hostname, task).Set(e.Time.Sub(r.at).Seconds())
			if !r.queued.IsZero() {
				wait := max(e.Time.Sub(r.queued).Seconds(), 0)
				m.wait.WithLabelValues(e.Hostname).Observe(wait)
				if m.onWait != nil {
					m.onWait(e.Time, wait)
				}
			}
		}
	case "task-succeeded", "task-failed", "task-retried":
		if e.Runtime > 0 {
			m.runtime.WithLabelValues(e.Hostname, task).Observe(e.Runtime)
		}
	}
}

// follow feeds the series from the event stream until ctx ends.
func (m *flowerMetrics) follow(ctx context.Context) { m.reader.Follow(ctx, m.observe) }

func (m *flowerMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.online
	ch <- m.running
	ch <- m.qDepth
	ch <- m.qConsum
	ch <- m.qUnacked
}

// Collect reads the workers' statuses for the worker gauges.
func (m *flowerMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ws, err := m.reader.Workers(ctx)
	if err != nil {
		m.logger.Warn("metrics: cannot read workers", "err", err)
		return
	}
	for _, w := range ws {
		online := 0.0
		if w.Status == monitor.Online {
			online = 1
		}
		ch <- prometheus.MustNewConstMetric(m.online, prometheus.GaugeValue, online, w.Hostname)
		ch <- prometheus.MustNewConstMetric(m.running, prometheus.GaugeValue, float64(w.Active), w.Hostname)
	}
	b, err := m.queues(ctx)
	if err != nil {
		m.logger.Warn("metrics: cannot read queues", "err", err)
		return
	}
	for _, q := range b.Queues {
		ch <- prometheus.MustNewConstMetric(m.qDepth, prometheus.GaugeValue, float64(q.Ready), q.Name)
		ch <- prometheus.MustNewConstMetric(m.qConsum, prometheus.GaugeValue, float64(q.Consumers), q.Name)
		if q.Unacked != nil {
			ch <- prometheus.MustNewConstMetric(m.qUnacked, prometheus.GaugeValue, float64(*q.Unacked), q.Name)
		}
	}
}

func (m *flowerMetrics) handler() http.Handler { return metrics.Handler(m.reg) }
