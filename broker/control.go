package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Worker remote control, as Celery's: a non-durable fanout exchange
// <exchange>.control that every worker binds a private exclusive queue to.
// A command names its destination workers (none: all of them); each
// addressed worker replies on the caller's reply queue (RabbitMQ's direct
// reply-to) with the command's correlation id.

// DirectReplyTo is RabbitMQ's pseudo-queue for replies without a queue.
const DirectReplyTo = "amq.rabbitmq.reply-to"

// DefaultControlTimeout is how long a Control call waits for replies.
const DefaultControlTimeout = time.Second

// Command is one remote-control command.
type Command struct {
	// Destination names the addressed workers; empty addresses all.
	Destination []string `json:"destination,omitempty"`
	Name        string   `json:"command"`
	// Arguments are the command's named arguments (n, queue, ...).
	Arguments map[string]any `json:"arguments,omitempty"`
}

// Addressed reports whether the command is for the worker called name.
func (c Command) Addressed(name string) bool {
	return len(c.Destination) == 0 || slices.Contains(c.Destination, name)
}

// IntArg returns the integer argument key, or def when absent.
func (c Command) IntArg(key string, def int) (int, error) {
	v, ok := c.Arguments[key]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case float64:
		if x != float64(int(x)) {
			return 0, fmt.Errorf("argument %s must be an integer (got %v)", key, x)
		}
		return int(x), nil
	case int:
		return x, nil
	case string:
		n, err := strconv.Atoi(x)
		if err != nil {
			return 0, fmt.Errorf("argument %s must be an integer (got %q)", key, x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("argument %s must be an integer (got %v)", key, v)
}

// StringArg returns the string argument key ("" when absent).
func (c Command) StringArg(key string) string {
	s, _ := c.Arguments[key].(string)
	return s
}

// Reply is one worker's answer to a command: OK (a message, as Celery's
// {"ok": ...}) or Error, and for queries a Result.
type Reply struct {
	Worker string `json:"worker"`
	OK     string `json:"ok,omitempty"`
	Error  string `json:"error,omitempty"`
	Result any    `json:"result,omitempty"`
	// Then, when set, runs once the reply has been sent (or failed to):
	// a shutdown starts only after its caller was told.
	Then func() `json:"-"`
	// Silent sends no reply: a broadcast that concerns another worker
	// (revoke of a try this worker does not run).
	Silent bool `json:"-"`
}

// ControlExchange names the control fanout of a task exchange.
func ControlExchange(exchange string) string { return exchange + ".control" }

func declareControl(ch *amqp.Channel, exchange string) error {
	name := ControlExchange(exchange)
	if err := ch.ExchangeDeclare(name, amqp.ExchangeFanout, false, false, false, false, nil); err != nil {
		return fmt.Errorf("declare control exchange %s: %w", name, err)
	}
	return nil
}

// Control sends remote-control commands and gathers the replies. Each call
// uses its own short connection, so a broker that went away and came back
// costs nothing but that call.
type Control struct {
	opts Options
}

// NewControl returns a control client.
func NewControl(opts Options) *Control { return &Control{opts: opts} }

// Call broadcasts cmd and gathers replies until every addressed worker has
// answered or timeout passes (DefaultControlTimeout when <= 0). With no
// destination it waits the whole timeout for whoever replies, as Celery's
// broadcast. Replies come in arrival order; the caller compares them to the
// destination to find who did not answer.
func (c *Control) Call(ctx context.Context, cmd Command, timeout time.Duration) ([]Reply, error) {
	if timeout <= 0 {
		timeout = DefaultControlTimeout
	}
	// The reply window starts once the command is out: connecting to a
	// loaded broker must not eat the time workers have to answer.
	conn, err := dial(c.opts.URL)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open broker channel: %w", err)
	}
	if err := declareControl(ch, c.opts.Exchange); err != nil {
		return nil, err
	}
	// Direct reply-to: consume the pseudo-queue (no-ack) before publishing.
	replies, err := ch.Consume(DirectReplyTo, "", true, true, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("consume replies: %w", err)
	}
	body, err := json.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode control command: %w", err)
	}
	corr := strconv.FormatInt(time.Now().UnixNano(), 36)
	err = ch.PublishWithContext(ctx, ControlExchange(c.opts.Exchange), "", false, false, amqp.Publishing{
		ContentType:   "application/json",
		ReplyTo:       DirectReplyTo,
		CorrelationId: corr,
		// A command nobody picks up in time is of no use later.
		Expiration: strconv.FormatInt(timeout.Milliseconds()+1, 10),
		Body:       body,
	})
	if err != nil {
		return nil, fmt.Errorf("publish control command %s: %w", cmd.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var out []Reply
	seen := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return out, nil
			}
			return out, ctx.Err()
		case d, ok := <-replies:
			if !ok {
				return out, errors.New("broker closed the reply channel")
			}
			if d.CorrelationId != corr {
				continue
			}
			var r Reply
			if err := json.Unmarshal(d.Body, &r); err != nil || r.Worker == "" || seen[r.Worker] {
				continue
			}
			seen[r.Worker] = true
			out = append(out, r)
			if len(cmd.Destination) > 0 && len(seen) >= len(cmd.Destination) && allSeen(cmd.Destination, seen) {
				return out, nil
			}
		}
	}
}

func allSeen(names []string, seen map[string]bool) bool {
	for _, n := range names {
		if !seen[n] {
			return false
		}
	}
	return true
}

// Missing returns the destination names that have no reply.
func Missing(destination []string, replies []Reply) []string {
	var out []string
	for _, n := range destination {
		if !slices.ContainsFunc(replies, func(r Reply) bool { return r.Worker == n }) {
			out = append(out, n)
		}
	}
	return out
}

// Handler answers one command addressed to this worker. It must return
// quickly: it runs on the control consumer's loop.
type Handler func(ctx context.Context, cmd Command) Reply

// ControlServer receives the commands for one worker and replies to them,
// reconnecting with backoff like the task consumer. It runs on its own
// connection, so it never stands in the way of tasks.
type ControlServer struct {
	opts    Options
	name    string
	handler Handler
	logger  *slog.Logger
	ready   chan struct{}
}

// NewControlServer returns the control server of the worker called name.
func NewControlServer(opts Options, name string, handler Handler, logger *slog.Logger) *ControlServer {
	return &ControlServer{opts: opts, name: name, handler: handler, logger: logger, ready: make(chan struct{})}
}

// Ready is closed once the server consumes commands for the first time.
func (s *ControlServer) Ready() <-chan struct{} { return s.ready }

// Run serves commands until ctx is done.
func (s *ControlServer) Run(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		connected, err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			attempt = 0
		}
		s.logger.Warn("broker control consumer disconnected; reconnecting", "err", err, "attempt", attempt+1)
		if err := sleepCtx(ctx, backoff(attempt)); err != nil {
			return nil
		}
	}
}

func (s *ControlServer) session(ctx context.Context) (connected bool, err error) {
	conn, err := dial(s.opts.URL)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("open broker channel: %w", err)
	}
	if err := declareControl(ch, s.opts.Exchange); err != nil {
		return false, err
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return false, fmt.Errorf("declare control queue: %w", err)
	}
	if err := ch.QueueBind(q.Name, "", ControlExchange(s.opts.Exchange), false, nil); err != nil {
		return false, fmt.Errorf("bind control queue: %w", err)
	}
	cmds, err := ch.Consume(q.Name, s.name+".control", true, true, false, false, nil)
	if err != nil {
		return false, fmt.Errorf("consume control queue: %w", err)
	}
	select {
	case <-s.ready:
	default:
		close(s.ready)
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case e := <-closed:
			if e == nil {
				return true, errors.New("broker connection closed")
			}
			return true, e
		case d, ok := <-cmds:
			if !ok {
				return true, errors.New("control consumer cancelled")
			}
			s.serve(ctx, ch, d)
		}
	}
}

func (s *ControlServer) serve(ctx context.Context, ch *amqp.Channel, d amqp.Delivery) {
	var cmd Command
	if err := json.Unmarshal(d.Body, &cmd); err != nil {
		s.logger.Warn("ignoring a malformed control command", "err", err)
		return
	}
	if !cmd.Addressed(s.name) {
		return
	}
	r := s.handler(ctx, cmd)
	r.Worker = s.name
	if r.Then != nil {
		defer r.Then()
	}
	if d.ReplyTo == "" || r.Silent {
		return
	}
	body, err := json.Marshal(r)
	if err != nil {
		s.logger.Warn("cannot encode a control reply", "command", cmd.Name, "err", err)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := ch.PublishWithContext(pctx, "", d.ReplyTo, false, false, amqp.Publishing{
		ContentType:   "application/json",
		CorrelationId: d.CorrelationId,
		Body:          body,
	}); err != nil {
		s.logger.Warn("cannot send a control reply", "command", cmd.Name, "err", err)
	}
}
