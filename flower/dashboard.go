package flower

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gust-sched/gust/common/monitor"
)

// maxSlotValues bounds the runtimes (and waits) a slot keeps for its
// percentiles: beyond it, a uniform sample of them (reservoir sampling).
const maxSlotValues = 4096

// slotAgg is what the event stream told of one interval.
type slotAgg struct {
	succeeded, failed, retried int
	runtimes, waits            reservoir
}

type reservoir struct {
	seen int
	vals []float64
}

func (r *reservoir) add(v float64) {
	r.seen++
	if len(r.vals) < maxSlotValues {
		r.vals = append(r.vals, v)
	} else if i := rand.IntN(r.seen); i < maxSlotValues {
		r.vals[i] = v
	}
}

// percentiles returns the p50 and p95 of the values (0 without any).
func (r *reservoir) percentiles() (float64, float64) {
	if len(r.vals) == 0 {
		return 0, 0
	}
	v := slices.Clone(r.vals)
	slices.Sort(v)
	at := func(p float64) float64 { return v[min(len(v)-1, int(p*float64(len(v))))] }
	return at(0.50), at(0.95)
}

// dashboard turns the event stream into the dashboard's points: each
// flower aggregates the events of every interval in memory, and at each
// interval's end the first flower of the cluster to claim it writes the
// point (with the queues' depths and the workers' running tries of that
// moment) to Redis, where every flower reads the chart from.
type dashboard struct {
	s        *Server
	interval time.Duration

	mu    sync.Mutex
	slots map[int64]*slotAgg // interval start (Unix seconds) -> aggregate
}

func newDashboard(s *Server, interval time.Duration) *dashboard {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	return &dashboard{s: s, interval: interval, slots: map[int64]*slotAgg{}}
}

func (d *dashboard) slot(t time.Time) *slotAgg {
	k := t.Truncate(d.interval).Unix()
	a := d.slots[k]
	if a == nil {
		a = &slotAgg{}
		d.slots[k] = a
	}
	return a
}

// observe counts a finished try in its interval.
func (d *dashboard) observe(e monitor.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch e.Type {
	case "task-succeeded":
		a := d.slot(e.Time)
		a.succeeded++
		a.runtimes.add(e.Runtime)
	case "task-failed":
		a := d.slot(e.Time)
		a.failed++
		a.runtimes.add(e.Runtime)
	case "task-retried":
		a := d.slot(e.Time)
		a.retried++
		a.runtimes.add(e.Runtime)
	}
}

// observeWait records a try's wait (queued -> started) at its start.
func (d *dashboard) observeWait(at time.Time, wait float64) {
	d.mu.Lock()
	d.slot(at).waits.add(wait)
	d.mu.Unlock()
}

// take removes and returns the aggregate of the interval starting at k,
// and forgets intervals older than it.
func (d *dashboard) take(k time.Time) slotAgg {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out slotAgg
	if a := d.slots[k.Unix()]; a != nil {
		out = *a
	}
	for t := range d.slots {
		if t <= k.Unix() {
			delete(d.slots, t)
		}
	}
	return out
}

// run writes a point after each interval until ctx ends.
func (d *dashboard) run(ctx context.Context) {
	for {
		next := time.Now().Truncate(d.interval).Add(d.interval)
		// A little after the interval's end, so that its last events are in.
		timer := time.NewTimer(time.Until(next) + d.interval/10)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		if err := d.record(ctx, next.Add(-d.interval)); err != nil {
			d.s.logger.Warn("flower: dashboard point not recorded", "err", err)
		}
	}
}

// record writes the point of the interval that starts at start, unless
// another flower did.
func (d *dashboard) record(ctx context.Context, start time.Time) error {
	agg := d.take(start)
	ctx, cancel := context.WithTimeout(ctx, d.interval)
	defer cancel()
	mine, err := d.s.reader.ClaimSample(ctx, start, 2*d.interval)
	if err != nil || !mine {
		return err
	}
	p := monitor.Sample{Time: start, Interval: d.interval.Seconds(), Succeeded: agg.succeeded, Failed: agg.failed, Retried: agg.retried}
	p.RuntimeP50, p.RuntimeP95 = agg.runtimes.percentiles()
	p.WaitP50, p.WaitP95 = agg.waits.percentiles()
	if ws, err := d.s.reader.Workers(ctx); err == nil {
		for _, w := range ws {
			if w.Active > 0 {
				if p.Running == nil {
					p.Running = map[string]int{}
				}
				p.Running[w.Hostname] = w.Active
			}
		}
	}
	if b, err := d.s.broker(ctx); err == nil {
		p.Queues = map[string]int{}
		for _, q := range b.Queues {
			p.Queues[q.Name] = q.Ready
		}
	}
	return d.s.reader.AddSample(ctx, p)
}

// apiDashboard answers the dashboard's points over a window (seconds,
// default one hour, at most a day).
func (s *Server) apiDashboard(w http.ResponseWriter, r *http.Request) {
	window := time.Hour
	if v := r.URL.Query().Get("window"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || time.Duration(n)*time.Second > monitor.SampleRetention {
			writeError(w, http.StatusBadRequest, paramError("window must be a number of seconds between 1 and 86400"))
			return
		}
		window = time.Duration(n) * time.Second
	}
	samples, err := s.reader.Samples(r.Context(), time.Now().Add(-window))
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	writeJSON(w, map[string]any{"interval": s.dash.interval.Seconds(), "window": window.Seconds(), "samples": samples})
}
