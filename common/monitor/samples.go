package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sample is one point of the monitor's dashboard: what happened in the
// interval that starts at Time (tries finished, their runtime and wait
// percentiles) and what the cluster looked like at its end (queue depths,
// running tries per worker).
type Sample struct {
	Time       time.Time      `json:"time"`
	Interval   float64        `json:"interval"` // seconds
	Succeeded  int            `json:"succeeded"`
	Failed     int            `json:"failed"`
	Retried    int            `json:"retried"`
	RuntimeP50 float64        `json:"runtime_p50"`
	RuntimeP95 float64        `json:"runtime_p95"`
	WaitP50    float64        `json:"wait_p50"`
	WaitP95    float64        `json:"wait_p95"`
	Queues     map[string]int `json:"queues,omitempty"`  // ready messages per queue
	Running    map[string]int `json:"running,omitempty"` // running tries per worker (busy workers only)
}

func samplesKey(prefix string) string { return prefix + "flower:samples" }

func sampleLockKey(prefix string, t time.Time) string {
	return prefix + "flower:sample:" + strconv.FormatInt(t.Unix(), 10)
}

// SampleRetention is how long the dashboard's points are kept.
const SampleRetention = 24 * time.Hour

// ClaimSample reports whether this process is the one to record the point
// at t: of several flowers serving one cluster, the first to ask.
func (r *Reader) ClaimSample(ctx context.Context, t time.Time, ttl time.Duration) (bool, error) {
	ok, err := r.rdb.SetNX(ctx, sampleLockKey(r.prefix, t), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("claim a dashboard sample: %w", err)
	}
	return ok, nil
}

// AddSample records a point and drops those older than SampleRetention.
func (r *Reader) AddSample(ctx context.Context, s Sample) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode a dashboard sample: %w", err)
	}
	score := float64(s.Time.Unix())
	pipe := r.rdb.TxPipeline()
	pipe.ZRemRangeByScore(ctx, samplesKey(r.prefix), strconv.FormatFloat(score, 'f', 0, 64), strconv.FormatFloat(score, 'f', 0, 64))
	pipe.ZAdd(ctx, samplesKey(r.prefix), redis.Z{Score: score, Member: b})
	pipe.ZRemRangeByScore(ctx, samplesKey(r.prefix), "-inf", "("+strconv.FormatInt(s.Time.Add(-SampleRetention).Unix(), 10))
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("record a dashboard sample: %w", err)
	}
	return nil
}

// Samples returns the points from since on, oldest first.
func (r *Reader) Samples(ctx context.Context, since time.Time) ([]Sample, error) {
	raw, err := r.rdb.ZRangeByScore(ctx, samplesKey(r.prefix), &redis.ZRangeBy{Min: strconv.FormatInt(since.Unix(), 10), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("read the dashboard samples: %w", err)
	}
	out := make([]Sample, 0, len(raw))
	for _, s := range raw {
		var x Sample
		if json.Unmarshal([]byte(s), &x) == nil {
			out = append(out, x)
		}
	}
	return out, nil
}
