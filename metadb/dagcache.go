package metadb

import (
	"context"
	"fmt"
	"sync"

	"github.com/gust-sched/gust/common/dagspec"
)

// DAGCache holds deserialized DAG versions by hash. A version never changes,
// so entries never go stale; the cache is bounded by dropping everything
// when it grows past its limit.
type DAGCache struct {
	mu    sync.Mutex
	limit int
	dags  map[string]*dagspec.DAG
}

// NewDAGCache returns a cache of at most limit versions.
func NewDAGCache(limit int) *DAGCache {
	return &DAGCache{limit: limit, dags: map[string]*dagspec.DAG{}}
}

// Get returns the DAG version with the given hash, loading it if needed.
// Callers must not modify the returned DAG.
func (c *DAGCache) Get(ctx context.Context, q DBTX, hash string) (*dagspec.DAG, error) {
	c.mu.Lock()
	d := c.dags[hash]
	c.mu.Unlock()
	if d != nil {
		return d, nil
	}
	data, err := LoadSerializedDAG(ctx, q, hash)
	if err != nil {
		return nil, err
	}
	d, err = dagspec.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("deserialize dag version %s: %w", hash, err)
	}
	c.mu.Lock()
	if len(c.dags) >= c.limit {
		clear(c.dags)
	}
	c.dags[hash] = d
	c.mu.Unlock()
	return d, nil
}
