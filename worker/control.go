package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/metadb"
)

// limiter bounds the tries run at once. Its size can change while tries
// run: shrinking never stops a running try, it only holds new ones back
// until fewer than the new size run.
type limiter struct {
	mu         sync.Mutex
	size, used int
	changed    chan struct{} // closed and replaced on every change
}

func newLimiter(size int) *limiter {
	return &limiter{size: size, changed: make(chan struct{})}
}

// acquire takes a slot, waiting for one; false when ctx ended first.
func (l *limiter) acquire(ctx context.Context) bool {
	for {
		l.mu.Lock()
		if l.used < l.size {
			l.used++
			l.mu.Unlock()
			return true
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

func (l *limiter) release() {
	l.mu.Lock()
	l.used--
	l.notify()
	l.mu.Unlock()
}

// resize changes the size by delta, never below 1, and returns the new size.
func (l *limiter) resize(delta int) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.size + delta
	if n < 1 {
		return l.size, fmt.Errorf("cannot shrink the pool below 1 (it is %d)", l.size)
	}
	l.size = n
	l.notify()
	return n, nil
}

func (l *limiter) inUse() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used
}

func (l *limiter) limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

func (l *limiter) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// control answers the remote-control commands addressed to this worker
// (Celery's names). It only changes in-memory limits and wakes the task
// consumer, so it never waits on running tries.
func (w *Worker) control(_ context.Context, cmd broker.Command) broker.Reply {
	fail := func(err error) broker.Reply { return broker.Reply{Error: err.Error()} }
	switch cmd.Name {
	case "ping":
		return broker.Reply{OK: "pong"}
	case "shutdown":
		w.logger.Warn("got shutdown from remote: warm shutdown")
		return broker.Reply{OK: "shutting down", Then: w.Shutdown}
	case "pool_grow", "pool_shrink":
		n, err := cmd.IntArg("n", 1)
		if err != nil {
			return fail(err)
		}
		if n < 1 {
			return fail(fmt.Errorf("n must be >= 1 (got %d)", n))
		}
		delta := n
		if cmd.Name == "pool_shrink" {
			delta = -n
		}
		size, err := w.slots.resize(delta)
		if err != nil {
			return fail(err)
		}
		w.consumer.SetPrefetch(size * w.opts.PrefetchMultiplier)
		w.logger.Info("pool resized by remote control", "concurrency", size)
		w.publishStatus()
		if delta > 0 {
			return broker.Reply{OK: "pool will grow", Result: map[string]int{"concurrency": size}}
		}
		return broker.Reply{OK: "pool will shrink", Result: map[string]int{"concurrency": size}}
	case "autoscale":
		hi, err := cmd.IntArg("max", 0)
		if err != nil {
			return fail(err)
		}
		lo, err := cmd.IntArg("min", 1)
		if err != nil {
			return fail(err)
		}
		if lo < 1 || hi < lo {
			return fail(fmt.Errorf("autoscale needs 1 <= min <= max (got max %d, min %d)", hi, lo))
		}
		w.setAutoscale(hi, lo)
		w.logger.Info("autoscale set by remote control", "max", hi, "min", lo)
		return broker.Reply{OK: "autoscale now max=" + fmt.Sprint(hi) + " min=" + fmt.Sprint(lo),
			Result: map[string]int{"max": hi, "min": lo}}
	case "revoke":
		// Only the worker running the try answers (a broadcast): it stops
		// the try, which ends failed without a retry.
		k := metadb.TryKey{TIKey: metadb.TIKey{DagID: cmd.StringArg("dag_id"), RunID: cmd.StringArg("run_id"),
			TaskID: cmd.StringArg("task_id")}}
		var err error
		if k.MapIndex, err = cmd.IntArg("map_index", -1); err != nil {
			return fail(err)
		}
		if k.TryNumber, err = cmd.IntArg("try_number", 0); err != nil {
			return fail(err)
		}
		w.mu.Lock()
		r, ok := w.running[k]
		w.mu.Unlock()
		if !ok {
			return broker.Reply{Silent: true}
		}
		w.logger.Warn("revoked by remote control: terminating the try", "dag_id", k.DagID, "run_id", k.RunID, "task_id", k.TaskID, "try_number", k.TryNumber)
		r.cancel(errRevoked)
		return broker.Reply{OK: "terminating"}
	case "add_consumer":
		q := strings.TrimSpace(cmd.StringArg("queue"))
		if q == "" {
			return fail(fmt.Errorf("add_consumer needs a queue"))
		}
		if !w.consumer.AddQueue(q) {
			return broker.Reply{OK: "already consuming from " + q}
		}
		w.logger.Info("consuming a queue by remote control", "queue", q)
		w.publishStatus()
		return broker.Reply{OK: "add consumer " + q}
	case "cancel_consumer":
		q := strings.TrimSpace(cmd.StringArg("queue"))
		if q == "" {
			return fail(fmt.Errorf("cancel_consumer needs a queue"))
		}
		if !w.consumer.CancelQueue(q) {
			return fail(fmt.Errorf("not consuming from %s", q))
		}
		w.logger.Info("stopped consuming a queue by remote control", "queue", q)
		w.publishStatus()
		return broker.Reply{OK: "no longer consuming from " + q}
	case "stats":
		return broker.Reply{OK: "stats", Result: map[string]any{
			"concurrency": w.slots.limit(),
			"queues":      w.consumer.Queues(),
			"active":      w.active.Load(),
			"processed":   w.processed.Load(),
			"pid":         os.Getpid(),
		}}
	}
	return fail(fmt.Errorf("unknown command %q", cmd.Name))
}

// errRevoked ends a try that a `revoke` with terminate stopped.
var errRevoked = errors.New("revoked (terminated by remote control)")

// Shutdown starts a warm shutdown, as the first SIGTERM does: Run stops
// taking tasks, lets running ones finish within the grace, and returns.
func (w *Worker) Shutdown() { w.shutdownOnce.Do(func() { close(w.shutdown) }) }

func (w *Worker) publishStatus() {
	if w.mon != nil {
		w.mon.Heartbeat(w.status())
	}
}
