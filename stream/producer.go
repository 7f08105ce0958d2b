package stream

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
)

// Producer writes to Kafka: events accepted over HTTP, and dead letters.
// It waits for the broker's acknowledgement (acks=all, idempotent), so what
// it reports produced is durable in Kafka. It is safe for concurrent use.
type Producer struct {
	cfg Config
	cl  *kgo.Client
}

// NewProducer returns a connected producer.
func NewProducer(cfg Config) (*Producer, error) {
	cfg.EnsureDefaults()
	cl, err := kgo.NewClient(cfg.clientOpts(
		kgo.ProducerLinger(cfg.ProducerLinger),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	)...)
	if err != nil {
		return nil, fmt.Errorf("cannot create producer: %w", err)
	}
	return &Producer{cfg: cfg, cl: cl}, nil
}

// Close flushes nothing further and closes the client; produce calls still
// waiting fail.
func (p *Producer) Close() { p.cl.Close() }

// Produce writes records and waits until every one is acknowledged.
func (p *Producer) Produce(ctx context.Context, recs ...*kgo.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("cannot produce %d records: %w", len(recs), err)
	}
	return nil
}

// EventRecord returns the record of an event: on the events topic, keyed by
// its user id, with value as its JSON.
func (p *Producer) EventRecord(userID string, value []byte) *kgo.Record {
	return &kgo.Record{Topic: p.cfg.EventsTopic, Key: []byte(userID), Value: value}
}

// Ping checks that a broker answers.
func (p *Producer) Ping(ctx context.Context) error { return p.cl.Ping(ctx) }

// Dead-letter headers.
const (
	HeaderError     = "sticky-error"            // "<field> <reason>"
	HeaderField     = "sticky-error-field"      // the offending field, "body" or "key"
	HeaderSrcTopic  = "sticky-source-topic"     // where the record was read
	HeaderSrcPart   = "sticky-source-partition" // its partition
	HeaderSrcOffset = "sticky-source-offset"    // its offset
)

// deadLetter returns the DLQ copy of rec, with the reason in headers.
func deadLetter(topic string, rec *kgo.Record, err error) *kgo.Record {
	field := "body"
	var fe *features.FieldError
	if errors.As(err, &fe) {
		field = fe.Field
	}
	h := append([]kgo.RecordHeader(nil), rec.Headers...)
	h = append(h,
		kgo.RecordHeader{Key: HeaderError, Value: []byte(err.Error())},
		kgo.RecordHeader{Key: HeaderField, Value: []byte(field)},
		kgo.RecordHeader{Key: HeaderSrcTopic, Value: []byte(rec.Topic)},
		kgo.RecordHeader{Key: HeaderSrcPart, Value: []byte(strconv.Itoa(int(rec.Partition)))},
		kgo.RecordHeader{Key: HeaderSrcOffset, Value: []byte(strconv.FormatInt(rec.Offset, 10))},
	)
	return &kgo.Record{Topic: topic, Key: rec.Key, Value: rec.Value, Headers: h}
}

// headerValue returns the value of the last header named key.
func headerValue(r *kgo.Record, key string) []byte {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return r.Headers[i].Value
		}
	}
	return nil
}
