package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gust-sched/gust/metadb"
)

// dbCollector reads the metadata database at scrape time: pool slots, and
// the task instances and runs that are not finished, by state. It answers
// with what it could read within its timeout.
type dbCollector struct {
	db      *metadb.DB
	logger  *slog.Logger
	timeout time.Duration

	poolOpen, poolRunning, poolQueued, poolScheduled, tis, runs, dags, importErrors *prometheus.Desc
}

// NewDBCollector registers the scrape-time collector of the database's
// state (for the scheduler and the api-server).
func NewDBCollector(reg prometheus.Registerer, db *metadb.DB, logger *slog.Logger) {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	reg.MustRegister(&dbCollector{db: db, logger: logger, timeout: 3 * time.Second,
		poolOpen:      d("pool_open_slots", "Open slots of a pool (-1: unlimited).", "pool"),
		poolRunning:   d("pool_running_slots", "Slots of a pool held by running tries.", "pool"),
		poolQueued:    d("pool_queued_slots", "Slots of a pool held by queued tries.", "pool"),
		poolScheduled: d("pool_scheduled_slots", "Slots of a pool that scheduled tries wait for.", "pool"),
		tis:           d("task_instances", "Unfinished task instances by state.", "state"),
		runs:          d("dag_runs", "Active DAG runs by state.", "state"),
		dags:          d("dags", "DAGs whose files define them (active), and paused ones.", "paused"),
		importErrors:  d("import_errors", "DAG files that fail to import."),
	})
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.poolOpen, c.poolRunning, c.poolQueued, c.poolScheduled, c.tis, c.runs, c.dags, c.importErrors} {
		ch <- d
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	pools, err := metadb.ListPools(ctx, c.db.Pool)
	if err != nil {
		c.logger.Warn("metrics: cannot read pools", "err", err)
	}
	for _, p := range pools {
		ch <- prometheus.MustNewConstMetric(c.poolOpen, prometheus.GaugeValue, float64(p.OpenSlots()), p.Name)
		ch <- prometheus.MustNewConstMetric(c.poolRunning, prometheus.GaugeValue, float64(p.RunningSlots), p.Name)
		ch <- prometheus.MustNewConstMetric(c.poolQueued, prometheus.GaugeValue, float64(p.QueuedSlots), p.Name)
		ch <- prometheus.MustNewConstMetric(c.poolScheduled, prometheus.GaugeValue, float64(p.ScheduledSlots), p.Name)
	}
	active, err := metadb.ActiveCounts(ctx, c.db.Pool)
	tis, runs := active.TIs, active.Runs
	if err != nil {
		c.logger.Warn("metrics: cannot count task instances", "err", err)
		return
	}
	for _, st := range []string{"scheduled", "queued", "running", "up_for_retry", "up_for_reschedule"} {
		ch <- prometheus.MustNewConstMetric(c.tis, prometheus.GaugeValue, float64(tis[st]), st)
	}
	for _, st := range []string{"queued", "running"} {
		ch <- prometheus.MustNewConstMetric(c.runs, prometheus.GaugeValue, float64(runs[st]), st)
	}
	ch <- prometheus.MustNewConstMetric(c.dags, prometheus.GaugeValue, float64(active.DAGs-active.PausedDAGs), "false")
	ch <- prometheus.MustNewConstMetric(c.dags, prometheus.GaugeValue, float64(active.PausedDAGs), "true")
	ch <- prometheus.MustNewConstMetric(c.importErrors, prometheus.GaugeValue, float64(active.ImportErrors))
}
