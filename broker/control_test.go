package broker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gust-sched/gust/broker"
	"github.com/gust-sched/gust/internal/testenv"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startServers runs one control server per name, answering ping with its
// name, and waits until each consumes.
func startServers(t *testing.T, opts broker.Options, names ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, len(names))
	t.Cleanup(func() {
		cancel()
		for range names {
			<-done
		}
	})
	for _, name := range names {
		s := broker.NewControlServer(opts, name, func(_ context.Context, cmd broker.Command) broker.Reply {
			switch cmd.Name {
			case "ping":
				return broker.Reply{OK: "pong"}
			case "echo":
				n, err := cmd.IntArg("n", 1)
				if err != nil {
					return broker.Reply{Error: err.Error()}
				}
				return broker.Reply{OK: fmt.Sprintf("%s %d", cmd.StringArg("queue"), n)}
			}
			return broker.Reply{Error: "unknown command " + cmd.Name}
		}, quietLogger())
		go func() { _ = s.Run(ctx); done <- struct{}{} }()
		select {
		case <-s.Ready():
		case <-time.After(10 * time.Second):
			t.Fatalf("control server %s did not start", name)
		}
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	opts := broker.Options{URL: testenv.Vhost(t), Exchange: "gust"}
	startServers(t, opts, "w1", "w2")
	ctl := broker.NewControl(opts)
	ctx := context.Background()

	t.Run("addressed workers answer before the timeout", func(t *testing.T) {
		start := time.Now()
		rs, err := ctl.Call(ctx, broker.Command{Name: "ping", Destination: []string{"w1", "w2"}}, 5*time.Second)
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 || rs[0].OK != "pong" || rs[1].OK != "pong" {
			t.Fatalf("replies: %+v", rs)
		}
		if took > time.Second {
			t.Errorf("ping round trip took %v, want well under the 5s timeout", took)
		}
		t.Logf("ping round trip to 2 workers: %v", took)
	})
	t.Run("only the destination answers, with arguments", func(t *testing.T) {
		rs, err := ctl.Call(ctx, broker.Command{Name: "echo", Destination: []string{"w2"},
			Arguments: map[string]any{"n": 3, "queue": "q"}}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].Worker != "w2" || rs[0].OK != "q 3" {
			t.Fatalf("replies: %+v", rs)
		}
	})
	t.Run("broadcast waits the timeout for everyone", func(t *testing.T) {
		rs, err := ctl.Call(ctx, broker.Command{Name: "ping"}, 500*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range rs {
			names = append(names, r.Worker)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"w1", "w2"}) {
			t.Fatalf("replies from %v, want w1 and w2", names)
		}
	})
	t.Run("errors and missing workers", func(t *testing.T) {
		dest := []string{"w1", "nobody"}
		rs, err := ctl.Call(ctx, broker.Command{Name: "nope", Destination: dest}, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].Error != "unknown command nope" {
			t.Fatalf("replies: %+v", rs)
		}
		if m := broker.Missing(dest, rs); !slices.Equal(m, []string{"nobody"}) {
			t.Fatalf("missing: %v", m)
		}
	})
}

func TestCommandIntArg(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    map[string]any
		want    int
		wantErr bool
	}{
		{nil, 1, false},
		{map[string]any{"n": float64(4)}, 4, false},
		{map[string]any{"n": "5"}, 5, false},
		{map[string]any{"n": 2.5}, 0, true},
		{map[string]any{"n": "x"}, 0, true},
	} {
		got, err := broker.Command{Arguments: tc.args}.IntArg("n", 1)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("IntArg(%v) = %d, %v; want %d (error %v)", tc.args, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestConsumerChanges checks that a running consumer takes a new queue,
// drops a cancelled one and survives a prefetch change.
func TestConsumerChanges(t *testing.T) {
	t.Parallel()
	opts := broker.Options{URL: testenv.Vhost(t), Exchange: "gust"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pub := broker.NewPublisher(opts, quietLogger())
	defer pub.Close()
	if err := pub.EnsureQueues(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	c := broker.NewConsumer(opts, []string{"a"}, 1, "t", quietLogger())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = c.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	publish := func(queue, task string) {
		t.Helper()
		msg := broker.Message{DagID: "d", RunID: "r", TaskID: task, TryNumber: 1, Queue: queue}
		if _, err := pub.Publish(ctx, []broker.Message{msg}); err != nil {
			t.Fatal(err)
		}
	}
	receive := func(want string) {
		t.Helper()
		select {
		case d := <-c.Deliveries():
			if d.Msg.TaskID != want {
				t.Fatalf("got %s, want %s", d.Msg.TaskID, want)
			}
			if err := d.Ack(); err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no delivery of %s", want)
		}
	}
	nothing := func() {
		t.Helper()
		select {
		case d := <-c.Deliveries():
			t.Fatalf("unexpected delivery %s", d.Msg.TaskID)
		case <-time.After(300 * time.Millisecond):
		}
	}

	publish("a", "a1")
	receive("a1")
	publish("b", "b1")
	nothing()
	if !c.AddQueue("b") || c.AddQueue("b") {
		t.Fatal("AddQueue: want true then false")
	}
	receive("b1")
	c.SetPrefetch(4)
	publish("a", "a2")
	receive("a2")
	if !c.CancelQueue("b") || c.CancelQueue("b") {
		t.Fatal("CancelQueue: want true then false")
	}
	if !slices.Equal(c.Queues(), []string{"a"}) {
		t.Fatalf("queues %v, want [a]", c.Queues())
	}
	// The change reaches the session asynchronously: wait until the broker
	// shows no consumer on b.
	conn, err := amqp.Dial(opts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	testenv.Eventually(t, 5*time.Second, "b to have no consumer", func() (bool, string) {
		ch, err := conn.Channel()
		if err != nil {
			return false, err.Error()
		}
		defer ch.Close()
		q, err := ch.QueueDeclarePassive("b", true, false, false, false, nil)
		return err == nil && q.Consumers == 0, fmt.Sprint(q, err)
	})
	publish("b", "b2")
	nothing()
	publish("a", "a3")
	receive("a3")
}

// TestControlSurvivesBrokerRestart checks that a worker's control consumer
// reconnects as the task consumer does, and that the task consumer keeps
// the queues added at runtime across the reconnect.
func TestControlSurvivesBrokerRestart(t *testing.T) {
	t.Parallel()
	rmq := testenv.StartPrivateRabbit(t)
	opts := broker.Options{URL: rmq.URL(), Exchange: "gust"}
	startServers(t, opts, "w1")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c := broker.NewConsumer(opts, []string{"a"}, 1, "t", quietLogger())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = c.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	c.AddQueue("b")

	ctl := broker.NewControl(opts)
	ping := func() (bool, string) {
		rs, err := ctl.Call(ctx, broker.Command{Name: "ping", Destination: []string{"w1"}}, time.Second)
		return err == nil && len(rs) == 1 && rs[0].OK == "pong", fmt.Sprint(rs, err)
	}
	testenv.Eventually(t, 10*time.Second, "a ping answered", ping)
	rmq.Stop()
	if ok, _ := ping(); ok {
		t.Fatal("ping answered with the broker down")
	}
	rmq.Start()
	testenv.Eventually(t, 30*time.Second, "a ping answered after the broker restart", ping)

	pub := broker.NewPublisher(opts, quietLogger())
	defer pub.Close()
	if err := pub.EnsureQueues(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, []broker.Message{{DagID: "d", RunID: "r", TaskID: "b1", TryNumber: 1, Queue: "b"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-c.Deliveries():
		if d.Msg.TaskID != "b1" {
			t.Fatalf("got %s, want b1", d.Msg.TaskID)
		}
		_ = d.Ack()
	case <-time.After(30 * time.Second):
		t.Fatal("the queue added at runtime is not consumed after the broker restart")
	}
}
