package flower

import (
	"context"
	"encoding/json"
	"maps"
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

	cacheMu   sync.Mutex
	cache     []monitor.Sample // the points read so far, oldest first
	cacheFrom time.Time        // the cache holds every point from here on
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
	// Read the day's points once now rather than on the first chart.
	if _, err := d.samples(ctx, time.Now().Add(-monitor.SampleRetention)); err != nil {
		d.s.logger.Warn("flower: cannot read the dashboard's points", "err", err)
	}
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

// maxPoints bounds the points a chart gets: longer windows are merged
// into that many buckets.
const maxPoints = 720

// samples returns the points since from, from a cache of what this flower
// read before (points never change once written) topped up with the newer
// ones, so a day's chart decodes a day of points once.
func (d *dashboard) samples(ctx context.Context, since time.Time) ([]monitor.Sample, error) {
	d.cacheMu.Lock()
	defer d.cacheMu.Unlock()
	if d.cacheFrom.IsZero() || since.Before(d.cacheFrom) {
		// The cache starts later than asked: read the older points afresh.
		d.cache, d.cacheFrom = nil, since
	}
	from := d.cacheFrom
	if n := len(d.cache); n > 0 {
		from = d.cache[n-1].Time.Add(time.Second)
	}
	fresh, err := d.s.reader.Samples(ctx, from)
	if err != nil {
		return nil, err
	}
	d.cache = append(d.cache, fresh...)
	cut := time.Now().Add(-monitor.SampleRetention)
	if d.cacheFrom.Before(cut) {
		d.cacheFrom = cut
	}
	i, _ := slices.BinarySearchFunc(d.cache, d.cacheFrom, func(s monitor.Sample, t time.Time) int { return s.Time.Compare(t) })
	d.cache = slices.Delete(d.cache, 0, i)
	j, _ := slices.BinarySearchFunc(d.cache, since, func(s monitor.Sample, t time.Time) int { return s.Time.Compare(t) })
	return slices.Clone(d.cache[j:]), nil
}

// merge turns consecutive points into one per bucket of step: counts add
// up, the other figures keep their highest value (a spike stays visible).
func merge(in []monitor.Sample, step int) []monitor.Sample {
	if step <= 1 {
		return in
	}
	out := make([]monitor.Sample, 0, len(in)/step+1)
	for i := 0; i < len(in); i += step {
		b := in[i]
		b.Queues, b.Running = maps.Clone(b.Queues), maps.Clone(b.Running)
		for _, p := range in[i+1 : min(i+step, len(in))] {
			b.Interval += p.Interval
			b.Succeeded, b.Failed, b.Retried = b.Succeeded+p.Succeeded, b.Failed+p.Failed, b.Retried+p.Retried
			b.RuntimeP50, b.RuntimeP95 = max(b.RuntimeP50, p.RuntimeP50), max(b.RuntimeP95, p.RuntimeP95)
			b.WaitP50, b.WaitP95 = max(b.WaitP50, p.WaitP50), max(b.WaitP95, p.WaitP95)
			for k, v := range p.Queues {
				if b.Queues == nil {
					b.Queues = map[string]int{}
				}
				b.Queues[k] = max(b.Queues[k], v)
			}
			for k, v := range p.Running {
				if b.Running == nil {
					b.Running = map[string]int{}
				}
				b.Running[k] = max(b.Running[k], v)
			}
		}
		out = append(out, b)
	}
	return out
}

// apiDashboard answers the dashboard's points over a window (seconds,
// default one hour, at most a day), at most maxPoints of them.
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
	samples, err := s.dash.samples(r.Context(), time.Now().Add(-window))
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	step := (len(samples) + maxPoints - 1) / maxPoints
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"interval": s.dash.interval.Seconds(), "window": window.Seconds(),
		"samples": merge(samples, step)})
}
