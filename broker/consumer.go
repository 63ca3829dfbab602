package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

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
type Consumer struct {
	opts     Options
	queues   []string
	prefetch int
	tag      string
	logger   *slog.Logger
	out      chan Delivery
}

// NewConsumer returns a consumer of queues with the given prefetch count
// (messages the broker sends ahead of acks). tag names the consumer.
func NewConsumer(opts Options, queues []string, prefetch int, tag string, logger *slog.Logger) *Consumer {
	return &Consumer{opts: opts, queues: queues, prefetch: prefetch, tag: tag, logger: logger, out: make(chan Delivery)}
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
	if err := ch.Qos(c.prefetch, 0, false); err != nil {
		return false, fmt.Errorf("set prefetch: %w", err)
	}
	if err := declareTopology(ch, c.opts.Exchange, c.queues...); err != nil {
		return false, err
	}
	merged := make(chan amqp.Delivery)
	done := make(chan struct{})
	defer close(done)
	for i, q := range c.queues {
		ds, err := ch.Consume(q, fmt.Sprintf("%s.%d", c.tag, i), false, false, false, false, nil)
		if err != nil {
			return false, fmt.Errorf("consume %s: %w", q, err)
		}
		go func() {
			for d := range ds {
				select {
				case merged <- d:
				case <-done:
					return
				}
			}
		}()
	}
	c.logger.Info("consuming", "queues", c.queues, "prefetch", c.prefetch)
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	for {
		select {
		case <-ctx.Done():
			// Closing the connection returns every unacked message.
			return true, nil
		case e := <-closed:
			if e == nil {
				return true, errors.New("broker connection closed")
			}
			return true, e
		case d := <-merged:
			m, derr := Decode(d.Body)
			del := Delivery{Msg: m, Err: derr, d: d}
			select {
			case c.out <- del:
			case <-ctx.Done():
				return true, nil
			case e := <-closed:
				if e == nil {
					return true, errors.New("broker connection closed")
				}
				return true, e
			}
		}
	}
}
