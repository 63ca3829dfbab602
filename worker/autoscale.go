package worker

import (
	"context"
	"time"
)

// autoscaleTick is how often the autoscaler looks.
const autoscaleTick = 500 * time.Millisecond

// autoscale is Celery's --autoscale MAX,MIN: the pool grows by one each
// tick while every slot is busy and a received message waits for one, up
// to MAX; after AutoscaleKeepalive with free slots it shrinks to what is
// in use, never below MIN. Shrinking never stops a running try.
func (w *Worker) autoscale(ctx context.Context) {
	t := time.NewTicker(autoscaleTick)
	defer t.Stop()
	idleSince := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		size, used := w.slots.limit(), w.slots.inUse()
		hi, lo := int(w.autoscaleMax.Load()), int(w.autoscaleMin.Load())
		switch {
		case size < lo:
			w.resizePool(lo-size, "autoscale: up to its minimum")
		case size > hi:
			w.resizePool(max(hi, used, 1)-size, "autoscale: down to its maximum")
		case used >= size && w.consumer.Waiting() && size < hi:
			w.resizePool(1, "autoscale: every slot busy and a message waiting")
			idleSince = time.Time{}
		case used < size && size > lo:
			if idleSince.IsZero() {
				idleSince = time.Now()
			} else if time.Since(idleSince) >= w.opts.AutoscaleKeepalive {
				w.resizePool(max(used, lo)-size, "autoscale: idle slots")
				idleSince = time.Time{}
			}
		default:
			idleSince = time.Time{}
		}
	}
}

// resizePool changes the pool by delta and follows with the prefetch and
// the monitor status.
func (w *Worker) resizePool(delta int, why string) {
	size, err := w.slots.resize(delta)
	if err != nil {
		w.logger.Warn("cannot resize the pool", "err", err)
		return
	}
	w.consumer.SetPrefetch(size * w.opts.PrefetchMultiplier)
	w.logger.Info(why, "concurrency", size)
	w.publishStatus()
}

// setAutoscale sets the pool's bounds (the remote `autoscale` command) and
// starts the autoscaler if the worker had a fixed pool.
func (w *Worker) setAutoscale(hi, lo int) {
	w.autoscaleMax.Store(int64(hi))
	w.autoscaleMin.Store(int64(lo))
	w.autoscaleOnce.Do(func() { close(w.autoscaleOn) })
}
