// Package monitor is gust's monitor plane in Redis: workers publish their
// status (heartbeat and counters, with a TTL) and task events (a capped
// stream); the flower monitor reads them. Publishing never blocks task
// execution: with Redis down, statuses and events are dropped and the
// dashboard goes stale until Redis is back.
package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// WorkerStatus is what a worker reports about itself.
type WorkerStatus struct {
	Hostname      string    `json:"hostname"`
	PID           int       `json:"pid"`
	Status        string    `json:"status"` // online | offline
	Queues        []string  `json:"queues"`
	Concurrency   int       `json:"concurrency"`
	Active        int       `json:"active"`
	Processed     int64     `json:"processed"`
	Succeeded     int64     `json:"succeeded"`
	Failed        int64     `json:"failed"`
	Retried       int64     `json:"retried"`
	LoadAvg       []float64 `json:"loadavg,omitempty"`
	StartedAt     time.Time `json:"started_at"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	Version       string    `json:"version,omitempty"`
	// AutoscaleMax and AutoscaleMin are the autoscale bounds (0: a fixed
	// pool of Concurrency).
	AutoscaleMax int `json:"autoscale_max,omitempty"`
	AutoscaleMin int `json:"autoscale_min,omitempty"`
	// Running are the tries the worker runs now, oldest first.
	Running []RunningTry `json:"running,omitempty"`
	// MemoryRSS is the worker process's resident memory in bytes.
	MemoryRSS int64 `json:"memory_rss,omitempty"`
	// Config is the worker's settings, as the monitor shows them.
	Config map[string]string `json:"config,omitempty"`
}

// RunningTry is one try a worker is running.
type RunningTry struct {
	ID        string    `json:"uuid"`
	DagID     string    `json:"dag_id"`
	RunID     string    `json:"run_id"`
	TaskID    string    `json:"task_id"`
	MapIndex  int       `json:"map_index"`
	TryNumber int       `json:"try_number"`
	Started   time.Time `json:"started"`
}

// Event is one task or worker event, as Celery's events.
type Event struct {
	Type      string    `json:"type"` // task-received, task-started, task-succeeded, task-failed, task-retried, task-rejected, worker-online, worker-offline
	Time      time.Time `json:"timestamp"`
	Hostname  string    `json:"hostname"`
	DagID     string    `json:"dag_id,omitempty"`
	RunID     string    `json:"run_id,omitempty"`
	TaskID    string    `json:"task_id,omitempty"`
	MapIndex  int       `json:"map_index,omitempty"`
	TryNumber int       `json:"try_number,omitempty"`
	State     string    `json:"state,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Runtime   float64   `json:"runtime,omitempty"`
	// Queued is when the scheduler queued the try (task-received only):
	// the start of its wait.
	Queued time.Time `json:"queued,omitzero"`
	ID     string    `json:"id,omitempty"` // stream id, set by the reader
}

// Status values.
const (
	Online  = "online"
	Offline = "offline"
)

// Key names under the configured prefix.
func workersKey(prefix string) string      { return prefix + "workers" }
func workerKey(prefix, host string) string { return prefix + "worker:" + host }
func eventsKey(prefix string) string       { return prefix + "events" }

// statusRetention is how long a silent worker's last status is kept (and
// shown as offline) before it disappears from the monitor.
const statusRetention = 24 * time.Hour

const eventBuffer = 4096

// Publisher sends statuses and events to Redis from a background loop.
type Publisher struct {
	rdb    *redis.Client
	prefix string
	maxLen int64
	ttl    time.Duration
	// maxTasks bounds the task history ([flower] max_tasks); 0: unbounded.
	maxTasks int64
	logger   *slog.Logger

	mu      sync.Mutex
	last    *WorkerStatus // the latest status, written or not
	pending bool          // last is not yet written
	events  []Event
	dropped int64
	wake    chan struct{}
}

// NewPublisher returns a publisher; call Run to start writing.
func NewPublisher(rdb *redis.Client, prefix string, maxLen int64, ttl time.Duration, logger *slog.Logger) *Publisher {
	return &Publisher{rdb: rdb, prefix: prefix, maxLen: maxLen, ttl: ttl, logger: logger, wake: make(chan struct{}, 1),
		maxTasks: DefaultMaxTasks}
}

// DefaultMaxTasks is Flower's --max_tasks default.
const DefaultMaxTasks = 100000

// WithMaxTasks bounds the task history the publisher keeps in Redis
// ([flower] max_tasks, Flower's --max_tasks).
func (p *Publisher) WithMaxTasks(n int64) *Publisher {
	p.maxTasks = n
	return p
}

// Heartbeat records the worker's latest status; it never blocks.
func (p *Publisher) Heartbeat(s WorkerStatus) {
	p.mu.Lock()
	p.last, p.pending = &s, true
	p.mu.Unlock()
	p.signal()
}

// Offline publishes the worker's final status, marked offline (on
// shutdown); it never blocks. The worker keeps its queues, concurrency,
// counters and start time, as Flower shows an offline Celery worker.
func (p *Publisher) Offline(s WorkerStatus) {
	hostname := s.Hostname
	s.Status = Offline
	s.Active = 0
	s.Running = nil
	s.LastHeartbeat = time.Now()
	p.mu.Lock()
	p.last, p.pending = &s, true
	p.events = append(p.events, Event{Type: "worker-offline", Hostname: hostname, Time: time.Now()})
	p.mu.Unlock()
	p.signal()
}

// Event queues one event; when Redis cannot keep up the oldest are dropped.
func (p *Publisher) Event(e Event) {
	p.mu.Lock()
	if len(p.events) >= eventBuffer {
		p.events = p.events[1:]
		p.dropped++
	}
	p.events = append(p.events, e)
	p.mu.Unlock()
	p.signal()
}

func (p *Publisher) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run writes to Redis until ctx ends, then flushes what is pending (briefly).
func (p *Publisher) Run(ctx context.Context) error {
	down := false
	for {
		select {
		case <-ctx.Done():
			_ = p.flush(ctx)
			return nil
		case <-p.wake:
		}
		err := p.flush(ctx)
		switch {
		case err != nil && !down:
			down = true
			p.logger.Warn("monitor: cannot write to Redis; the dashboard will be stale (tasks are not affected)", "err", err)
		case err == nil && down:
			down = false
			p.logger.Info("monitor: Redis is reachable again")
		}
		if err != nil {
			// Do not spin while Redis is down.
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// flush writes what is pending in one pipeline. A write that has started is
// not cut by ctx's cancellation (a shutdown still records the worker as
// offline), only bounded in time.
func (p *Publisher) flush(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	p.mu.Lock()
	var st *WorkerStatus
	if p.pending {
		st = p.last
	}
	evs, dropped := p.events, p.dropped
	p.pending, p.events, p.dropped = false, nil, 0
	p.mu.Unlock()
	if st == nil && len(evs) == 0 {
		return nil
	}
	pipe := p.rdb.Pipeline()
	if st != nil {
		b, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("encode worker status: %w", err)
		}
		pipe.Set(ctx, workerKey(p.prefix, st.Hostname), b, statusRetention)
		pipe.SAdd(ctx, workersKey(p.prefix), st.Hostname)
	}
	for _, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode event: %w", err)
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: eventsKey(p.prefix), MaxLen: p.maxLen, Approx: true, Values: []any{"event", b}})
		recordTask(ctx, pipe, p.prefix, e, p.maxTasks)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		// Keep what was not written for the next try: the latest status
		// unless a newer one arrived meanwhile, and the events in order,
		// within the buffer's bound (the oldest go first).
		p.mu.Lock()
		if st != nil {
			p.pending = true // p.last is st or a newer status
		}
		all := append(evs, p.events...)
		if over := len(all) - eventBuffer; over > 0 {
			all = all[over:]
			dropped += int64(over)
		}
		p.events = all
		p.dropped += dropped
		p.mu.Unlock()
		return fmt.Errorf("write monitor data: %w", err)
	}
	if dropped > 0 {
		p.logger.Warn("monitor: events were dropped while Redis was slow or down", "dropped", dropped)
	}
	if len(evs) > 0 && p.maxTasks > 0 {
		if err := trimTasks(ctx, p.rdb, p.prefix, p.maxTasks); err != nil {
			return fmt.Errorf("trim the task history: %w", err)
		}
	}
	return nil
}

// Reader reads the monitor plane.
type Reader struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
}

// NewReader returns a reader; a worker silent for longer than ttl is shown
// as offline.
func NewReader(rdb *redis.Client, prefix string, ttl time.Duration) *Reader {
	return &Reader{rdb: rdb, prefix: prefix, ttl: ttl}
}

// Workers returns every known worker's status, sorted by hostname.
func (r *Reader) Workers(ctx context.Context) ([]WorkerStatus, error) {
	hosts, err := r.rdb.SMembers(ctx, workersKey(r.prefix)).Result()
	if err != nil {
		return nil, fmt.Errorf("read workers: %w", err)
	}
	out := []WorkerStatus{}
	if len(hosts) == 0 {
		return out, nil
	}
	sort.Strings(hosts)
	keys := make([]string, len(hosts))
	for i, h := range hosts {
		keys[i] = workerKey(r.prefix, h)
	}
	vals, err := r.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("read worker statuses: %w", err)
	}
	now := time.Now()
	var gone []any
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			gone = append(gone, hosts[i])
			continue
		}
		var ws WorkerStatus
		if err := json.Unmarshal([]byte(s), &ws); err != nil {
			continue
		}
		if ws.Status != Offline && now.Sub(ws.LastHeartbeat) > r.ttl {
			ws.Status = Offline
			ws.Active = 0
		}
		out = append(out, ws)
	}
	if len(gone) > 0 {
		_ = r.rdb.SRem(ctx, workersKey(r.prefix), gone...).Err()
	}
	return out, nil
}

// Events returns the latest n events, newest first.
func (r *Reader) Events(ctx context.Context, n int64) ([]Event, error) {
	msgs, err := r.rdb.XRevRangeN(ctx, eventsKey(r.prefix), "+", "-", n).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read events: %w", err)
	}
	out := make([]Event, 0, len(msgs))
	for _, m := range msgs {
		raw, _ := m.Values["event"].(string)
		var e Event
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			continue
		}
		e.ID = m.ID
		out = append(out, e)
	}
	return out, nil
}

// Follow calls fn for every event appended to the stream from now on, in
// order, until ctx ends. Redis being down pauses it (it retries every
// second from the last event it saw); it never returns an error for that.
func (r *Reader) Follow(ctx context.Context, fn func(Event)) {
	last := "$"
	for ctx.Err() == nil {
		res, err := r.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{eventsKey(r.prefix), last}, Block: 5 * time.Second, Count: 1000}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, st := range res {
			for _, m := range st.Messages {
				last = m.ID
				raw, _ := m.Values["event"].(string)
				var e Event
				if json.Unmarshal([]byte(raw), &e) != nil {
					continue
				}
				e.ID = m.ID
				fn(e)
			}
		}
	}
}
