package baseline

import (
	"errors"
	"net"
)

// Options configure Run. Zero fields take the defaults below.
type Options struct {
	// Brokers are the Kafka seed brokers. Required.
	Brokers []string
	// Topic is the events topic, keyed by user_id. Default "sticky.events".
	Topic string
	// ItemsTopic is the compacted catalogue topic, keyed by item_id.
	// Default "sticky.items".
	ItemsTopic string
	// Group is the consumer group of the events consumer.
	// Default "sticky-baseline".
	Group string

	// Redis is the address of the Redis server. Required.
	Redis string

	// HTTP is the listen address of the API. Default "127.0.0.1:8090".
	HTTP string
	// Listener, when set, is used instead of listening on HTTP (tests pass
	// one bound to a random port). Run closes it. Default nil.
	Listener net.Listener

	// MaxK is the largest k a request may ask for. Default 100.
	MaxK int
	// MaxPerCategory is the diversity rule: at most this many items of one
	// category in a list, unless too few others remain. Default 0: no
	// cap, as Sticky's default (ranker.Config.MaxPerCategory).
	MaxPerCategory int
	// RecentMax bounds each user's recent-items list. Default 50.
	RecentMax int
	// Batch is the most records taken per poll, hence written per Redis
	// pipeline. Default 5000.
	Batch int
}

// Defaults of Options.
const (
	DefaultTopic          = "sticky.events"
	DefaultItemsTopic     = "sticky.items"
	DefaultGroup          = "sticky-baseline"
	DefaultHTTP           = "127.0.0.1:8090"
	DefaultMaxK           = 100
	DefaultMaxPerCategory = 0
	DefaultRecentMax      = 50
	DefaultBatch          = 5000
)

// EnsureDefaults fills zero fields with their defaults.
func (o *Options) EnsureDefaults() {
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	if o.ItemsTopic == "" {
		o.ItemsTopic = DefaultItemsTopic
	}
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if o.HTTP == "" {
		o.HTTP = DefaultHTTP
	}
	if o.MaxK <= 0 {
		o.MaxK = DefaultMaxK
	}
	if o.RecentMax <= 0 {
		o.RecentMax = DefaultRecentMax
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
}

func (o *Options) validate() error {
	if len(o.Brokers) == 0 {
		return errors.New("baseline: Options.Brokers is required")
	}
	if o.Redis == "" {
		return errors.New("baseline: Options.Redis is required")
	}
	return nil
}
