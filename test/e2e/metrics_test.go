package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gust-sched/gust/internal/testenv"
)

// scrape reads a /metrics endpoint with Prometheus's own text parser.
func scrape(t *testing.T, url string) (map[string]*dto.MetricFamily, error) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// value sums a family's samples whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, true
}

// TestPrometheusMetrics: a scheduler and a worker serve /metrics on their
// [metrics] ports and the api-server on its own; Prometheus's parser reads
// them, and they count what happened.
func TestPrometheusMetrics(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.WriteDAG("m.yaml", "metered:\n  schedule: null\n  tasks:\n    a: {operator: bash, bash_command: 'true'}\n    b: {operator: bash, bash_command: 'true', dependencies: [a]}\n")
	sp, wp := testenv.FreePort(t), testenv.FreePort(t)
	// The cluster turns metrics off; these two get ports of their own.
	c.Env = append(c.Env, fmt.Sprintf("GUST__METRICS__PORT=%d", sp))
	c.Start("scheduler", "scheduler")
	c.Env = append(c.Env, fmt.Sprintf("GUST__METRICS__PORT=%d", wp))
	c.Start("worker", "worker", "-c", "2")
	c.Start("api", "api-server")
	c.WaitParsed(30*time.Second, "metered")
	for i := 0; i < 3; i++ {
		c.MustRun("dags", "trigger", "metered", "--run-id", fmt.Sprintf("r%d", i))
	}
	c.WaitRunsFinished(60*time.Second, 3, "metered")

	base := func(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", port) }
	testenv.Eventually(t, 30*time.Second, "scheduler, worker and api-server metrics", func() (bool, string) {
		var problems []string
		check := func(url, name string, labels map[string]string, min float64) {
			fams, err := scrape(t, url)
			if err != nil {
				problems = append(problems, err.Error())
				return
			}
			v, ok := value(fams, name, labels)
			if !ok || v < min {
				problems = append(problems, fmt.Sprintf("%s %s%v = %v (present %v), want >= %v", url, name, labels, v, ok, min))
			}
			for _, std := range []string{"go_goroutines", "process_cpu_seconds_total"} {
				if _, ok := fams[std]; !ok {
					problems = append(problems, url+" lacks "+std)
				}
			}
		}
		check(base(sp), "gust_scheduler_loop_duration_seconds", nil, 1)
		check(base(sp), "gust_task_instances", map[string]string{"state": "running"}, 0)
		check(base(sp), "gust_pool_open_slots", map[string]string{"pool": "default_pool"}, 1)
		check(base(sp), "gust_dag_processing_file_parse_duration_seconds", nil, 1)
		check(base(c.APIPort), "gust_dags", map[string]string{"paused": "false"}, 1)
		// Three runs of two tasks: six tries queued, six run and succeeded.
		check(base(sp), "gust_scheduler_tis_queued_total", nil, 6)
		check(base(wp), "gust_worker_tries_total", map[string]string{"state": "success"}, 6)
		check(base(wp), "gust_worker_try_duration_seconds", nil, 6)
		return len(problems) == 0, strings.Join(problems, "\n")
	})
}
