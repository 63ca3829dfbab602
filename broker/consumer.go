package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Delivery is one received message with its acknowledgement.
type Delivery struct {
	Msg Message
	// Err is set when the body could not be decoded; ack such a delivery
	// (Reject without requeue) so that it does not loop.
	Err error
	d   amqp.Delivery
}

// Ack acknowledges the delivery. It fails when the channel it came on is
// gone; the broker then redelivers it, which the claim makes harmless.
func (d Delivery) Ack() error { return d.d.Ack(false) }

// Reject drops the delivery (or requeues it).
func (d Delivery) Reject(requeue bool) error { return d.d.Reject(requeue) }

// Consumer receives messages from a set of queues with manual acks and a
// prefetch window, reconnecting with backoff when the broker goes away.
// Its queues and prefetch can change while it runs (worker remote control).
type Consumer struct {
	opts   Options
	tag    string
	logger *slog.Logger
	out    chan Delivery
	kick   chan struct{} // the wanted queues or prefetch changed

	mu       sync.Mutex
	queues   []string // wanted
	prefetch int      // wanted

	// waiting is set while a delivery waits for the worker to take it:
	// every slot is busy and the broker has more (autoscale grows then).
	waiting atomic.Bool
}

// Waiting reports whether a received message waits for a free slot.
func (c *Consumer) Waiting() bool { return c.waiting.Load() }

// NewConsumer returns a consumer of queues with the given prefetch count
// (messages the broker sends ahead of acks, per queue). tag names the
// consumer.
func NewConsumer(opts Options, queues []string, prefetch int, tag string, logger *slog.Logger) *Consumer {
	return &Consumer{opts: opts, queues: slices.Clone(queues), prefetch: prefetch, tag: tag, logger: logger,
		out: make(chan Delivery), kick: make(chan struct{}, 1)}
}

// Queues returns the queues the consumer is (or will be, once connected)
// consuming.
func (c *Consumer) Queues() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.queues)
}

// SetPrefetch changes the prefetch count. It takes effect on the running
// connection at once (or at the next connection).
func (c *Consumer) SetPrefetch(n int) {
	c.mu.Lock()
	c.prefetch = max(n, 1)
	c.mu.Unlock()
	c.wake()
}

// AddQueue starts consuming queue; false when it already was.
func (c *Consumer) AddQueue(queue string) bool {
	c.mu.Lock()
	if slices.Contains(c.queues, queue) {
		c.mu.Unlock()
		return false
	}
	c.queues = append(c.queues, queue)
	c.mu.Unlock()
	c.wake()
	return true
}

// CancelQueue stops consuming queue; false when it was not consumed. What
// was prefetched from it is still handed over.
func (c *Consumer) CancelQueue(queue string) bool {
	c.mu.Lock()
	i := slices.Index(c.queues, queue)
	if i < 0 {
		c.mu.Unlock()
		return false
	}
	c.queues = slices.Delete(c.queues, i, i+1)
	c.mu.Unlock()
	c.wake()
	return true
}

func (c *Consumer) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *Consumer) wanted() ([]string, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.queues), c.prefetch
}

// Deliveries returns the channel Run sends deliveries on. It is unbuffered:
// a delivery is handed over only when the caller is ready for it, and what
// the broker prefetched beyond that stays unacked on the channel, returning
// to the queue if this consumer goes away.
func (c *Consumer) Deliveries() <-chan Delivery { return c.out }

// Run consumes until ctx is done, reconnecting after broker failures.
func (c *Consumer) Run(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		connected, err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			attempt = 0
		}
		c.logger.Warn("broker consumer disconnected; reconnecting", "err", err, "attempt", attempt+1)
		if err := sleepCtx(ctx, backoff(attempt)); err != nil {
			return nil
		}
	}
}

// session runs one connection's life. connected says whether it got as far
// as consuming.
func (c *Consumer) session(ctx context.Context) (connected bool, err error) {
	conn, err := dial(c.opts.URL)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return false, fmt.Errorf("open broker channel: %w", err)
	}
	merged := make(chan amqp.Delivery)
	done := make(chan struct{})
	defer close(done)
	s := &session{c: c, ch: ch, merged: merged, done: done, tags: map[string]string{}}
	if err := s.reconcile(); err != nil {
		return false, err
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	closedErr := func(e *amqp.Error) error {
		if e == nil {
			return errors.New("broker connection closed")
		}
		return e
	}
	for {
		select {
		case <-ctx.Done():
			// Closing the connection returns every unacked message.
			return true, nil
		case e := <-closed:
			return true, closedErr(e)
		case <-c.kick:
			if err := s.reconcile(); err != nil {
				return true, err
			}
		case d := <-merged:
			m, derr := Decode(d.Body)
			del := Delivery{Msg: m, Err: derr, d: d}
			select {
			case c.out <- del:
				continue
			default:
			}
			c.waiting.Store(true)
			select {
			case c.out <- del:
				c.waiting.Store(false)
			case <-ctx.Done():
				c.waiting.Store(false)
				return true, nil
			case e := <-closed:
				c.waiting.Store(false)
				return true, closedErr(e)
			}
		}
	}
}

// session is one channel's consumers.
type session struct {
	c        *Consumer
	ch       *amqp.Channel
	merged   chan amqp.Delivery
	done     chan struct{}
	prefetch int               // set on the channel
	tags     map[string]string // queue -> consumer tag
	seq      int
}

// reconcile brings the channel's consumers and prefetch to what is wanted.
// A prefetch change applies to consumers started after it, so every queue
// is consumed anew; the old consumer's deliveries are still handed over
// (and stay ackable on the channel).
func (s *session) reconcile() error {
	queues, prefetch := s.c.wanted()
	if prefetch != s.prefetch {
		if err := s.ch.Qos(prefetch, 0, false); err != nil {
			return fmt.Errorf("set prefetch: %w", err)
		}
		s.prefetch = prefetch
		for q, old := range s.tags {
			if err := s.consume(q); err != nil {
				return err
			}
			if err := s.ch.Cancel(old, false); err != nil {
				return fmt.Errorf("cancel consumer of %s: %w", q, err)
			}
		}
	}
	for _, q := range queues {
		if _, ok := s.tags[q]; ok {
			continue
		}
		if err := declareTopology(s.ch, s.c.opts.Exchange, q); err != nil {
			return err
		}
		if err := s.consume(q); err != nil {
			return err
		}
	}
	for q, tag := range s.tags {
		if slices.Contains(queues, q) {
			continue
		}
		if err := s.ch.Cancel(tag, false); err != nil {
			return fmt.Errorf("cancel consumer of %s: %w", q, err)
		}
		delete(s.tags, q)
	}
	s.c.logger.Info("consuming", "queues", queues, "prefetch", prefetch)
	return nil
}

func (s *session) consume(q string) error {
	s.seq++
	tag := fmt.Sprintf("%s.%d", s.c.tag, s.seq)
	ds, err := s.ch.Consume(q, tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", q, err)
	}
	s.tags[q] = tag
	go func() {
		// Runs until the consumer is cancelled (after handing over what it
		// buffered) or the channel closes.
		for d := range ds {
			select {
			case s.merged <- d:
			case <-s.done:
				return
			}
		}
	}()
	return nil
}
