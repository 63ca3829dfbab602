package flower

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/common/monitor"
	"github.com/gust-sched/gust/internal/testenv"
)

// TestControlEndpoints drives Flower's worker-control endpoints against a
// real broker and a control server standing in for a worker.
func TestControlEndpoints(t *testing.T) {
	t.Parallel()
	url, prefix := testenv.Redis(t)
	ropts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A publisher reports one worker.
	for _, name := range []string{"w1", "gone"} {
		pub := monitor.NewPublisher(rdb, prefix, 100, time.Minute, logger)
		pubCtx, stopPub := context.WithCancel(ctx)
		pubDone := make(chan struct{})
		go func() { _ = pub.Run(pubCtx); close(pubDone) }()
		pub.Heartbeat(monitor.WorkerStatus{Hostname: name, Status: monitor.Online, LastHeartbeat: time.Now()})
		stopPub()
		<-pubDone
	}

	bopts := broker.Options{URL: testenv.Vhost(t), Exchange: "gust"}
	var got []broker.Command
	cmds := make(chan broker.Command, 10)
	ctl := broker.NewControlServer(bopts, "w1", func(_ context.Context, cmd broker.Command) broker.Reply {
		cmds <- cmd
		switch cmd.Name {
		case "pool_shrink":
			return broker.Reply{Error: "cannot shrink the pool below 1 (it is 1)"}
		case "add_consumer":
			return broker.Reply{OK: "add consumer " + cmd.StringArg("queue")}
		}
		return broker.Reply{OK: "ok"}
	}, logger)
	ctlDone := make(chan struct{})
	go func() { _ = ctl.Run(ctx); close(ctlDone) }()
	defer func() { cancel(); <-ctlDone }()
	<-ctl.Ready()

	srv := httptest.NewServer(New(Options{Control: broker.NewControl(bopts)}, monitor.NewReader(rdb, prefix, time.Minute), logger).Handler())
	defer srv.Close()
	noCtl := httptest.NewServer(New(Options{}, monitor.NewReader(rdb, prefix, time.Minute), logger).Handler())
	defer noCtl.Close()

	for _, tc := range []struct {
		base, path string
		code       int
		message    string
		command    string
	}{
		{srv.URL, "/api/worker/shutdown/w1", 200, "Shutting down!", "shutdown"},
		{srv.URL, "/api/worker/pool/grow/w1?n=3", 200, "Growing worker's pool by 3", "pool_grow"},
		{srv.URL, "/api/worker/pool/grow/w1", 200, "Growing worker's pool by 1", "pool_grow"},
		{srv.URL, "/api/worker/pool/grow/w1?n=x", 400, "", ""},
		{srv.URL, "/api/worker/pool/shrink/w1?n=1", 403, "", "pool_shrink"},
		{srv.URL, "/api/worker/queue/add-consumer/w1?queue=other", 200, "add consumer other", "add_consumer"},
		{srv.URL, "/api/worker/queue/cancel-consumer/w1", 400, "", ""},
		{srv.URL, "/api/worker/pool/grow/nobody", 404, "", ""},
		{srv.URL, "/api/worker/pool/grow/gone", 403, "", ""}, // known but silent
		{noCtl.URL, "/api/worker/shutdown/w1", 503, "", ""},
	} {
		resp, err := http.Post(tc.base+tc.path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("POST %s: %d %v, want %d", tc.path, resp.StatusCode, body, tc.code)
			continue
		}
		if tc.message != "" && body["message"] != tc.message {
			t.Errorf("POST %s: message %v, want %q", tc.path, body["message"], tc.message)
		}
		if tc.command != "" {
			select {
			case c := <-cmds:
				got = append(got, c)
				if c.Name != tc.command || len(c.Destination) != 1 || c.Destination[0] != "w1" {
					t.Errorf("POST %s: worker got %+v, want %s to w1", tc.path, c, tc.command)
				}
			default:
				t.Errorf("POST %s: the worker got no command", tc.path)
			}
		}
	}
	if len(got) > 0 {
		if n, _ := got[1].IntArg("n", 0); n != 3 {
			t.Errorf("pool_grow n = %d, want 3", n)
		}
	}
}
