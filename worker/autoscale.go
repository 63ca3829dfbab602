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
		switch {
		case used >= size && w.consumer.Waiting() && size < w.opts.AutoscaleMax:
			w.resizePool(1, "autoscale: every slot busy and a message waiting")
			idleSince = time.Time{}
		case used < size && size > w.opts.AutoscaleMin:
			if idleSince.IsZero() {
				idleSince = time.Now()
			} else if time.Since(idleSince) >= w.opts.AutoscaleKeepalive {
				w.resizePool(max(used, w.opts.AutoscaleMin)-size, "autoscale: idle slots")
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
