package monitor

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gust-sched/gust/internal/testenv"
)

func TestPublishAndRead(t *testing.T) {
	url, prefix := testenv.Redis(t)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	pub := NewPublisher(rdb, prefix, 50, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan struct{})
	go func() { _ = pub.Run(ctx); close(done) }()

	pub.Heartbeat(WorkerStatus{Hostname: "w1", Status: Online, Queues: []string{"default"}, Concurrency: 4, Processed: 7, LastHeartbeat: time.Now()})
	started := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	pub.Heartbeat(WorkerStatus{Hostname: "w1", Status: Online, Queues: []string{"default"}, Concurrency: 4, Processed: 8, Succeeded: 6, Failed: 2, StartedAt: started, LastHeartbeat: time.Now()})
	for i := 0; i < 500; i++ {
		pub.Event(Event{Type: "task-succeeded", Hostname: "w1", TaskID: "t", TryNumber: i + 1, Time: time.Now()})
	}
	r := NewReader(rdb, prefix, time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	var ws []WorkerStatus
	var evs []Event
	for time.Now().Before(deadline) {
		ws, _ = r.Workers(ctx)
		evs, _ = r.Events(ctx, 1000)
		if len(ws) == 1 && ws[0].Processed == 8 && len(evs) > 0 && evs[0].TryNumber == 500 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(ws) != 1 || ws[0].Processed == 7 || ws[0].Status != Online || ws[0].Concurrency != 4 {
		t.Fatalf("workers = %+v, want w1 online with the latest counters", ws)
	}
	if len(evs) == 0 || evs[0].TryNumber != 500 {
		t.Fatalf("newest event = %+v, want try 500 first", evs)
	}
	// The stream is capped (approximately: Redis trims whole nodes).
	if n, _ := rdb.XLen(ctx, prefix+"events").Result(); n >= 500 {
		t.Errorf("event stream holds %d entries; want it capped near 50", n)
	}

	// A worker that stops reporting shows as offline once its TTL passes.
	stale := NewReader(rdb, prefix, time.Nanosecond)
	time.Sleep(time.Millisecond)
	ws, err = stale.Workers(ctx)
	if err != nil || len(ws) != 1 || ws[0].Status != Offline {
		t.Fatalf("stale workers = %+v, %v; want offline", ws, err)
	}

	// Offline on shutdown is flushed even as the publisher stops, after the
	// last status was written: the worker keeps its queues, concurrency,
	// counters and start time.
	pub.Offline(WorkerStatus{Hostname: "w1", Status: Online, Queues: []string{"default"}, Concurrency: 4, Active: 3, Processed: 8, Succeeded: 6, Failed: 2, StartedAt: started})
	cancel()
	<-done
	ws, err = r.Workers(context.Background())
	if err != nil || len(ws) != 1 || ws[0].Status != Offline {
		t.Fatalf("after Offline: %+v, %v", ws, err)
	}
	if w := ws[0]; w.Active != 0 || w.Processed != 8 || w.Succeeded != 6 || w.Failed != 2 || w.Concurrency != 4 ||
		len(w.Queues) != 1 || w.Queues[0] != "default" || !w.StartedAt.Equal(started) {
		t.Fatalf("offline worker = %+v; want its last counters, queues, concurrency and start time", w)
	}
}

func TestPublisherNeverBlocksWithRedisDown(t *testing.T) {
	// Nothing listens on this port: every write fails fast.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := NewPublisher(rdb, "x:", 10, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = pub.Run(ctx) }()
	start := time.Now()
	for i := 0; i < 3*eventBuffer; i++ {
		pub.Event(Event{Type: "task-started"})
		pub.Heartbeat(WorkerStatus{Hostname: "w"})
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("publishing %d events with Redis down took %v", 3*eventBuffer, d)
	}
	pub.mu.Lock()
	n := len(pub.events)
	pub.mu.Unlock()
	if n > eventBuffer {
		t.Fatalf("buffer holds %d events, want at most %d", n, eventBuffer)
	}
}
