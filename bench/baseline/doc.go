// Package baseline is the pipeline a team would build instead of Sticky, for
// the benchmark harness to compare against: a Kafka consumer that writes
// per-user features to Redis, and an HTTP service that reads Redis and ranks
// by the same business rules as Sticky's ranker. It reuses Sticky's decoders
// (stream.DecodeEvent, stream.DecodeItem) and event weights
// (features.DefaultConfig().Weights), so both systems see the same events
// the same way; everything else is deliberately plain.
//
// # API
//
//	StartRedis(ctx, dir) (*Redis, error)   // a private redis-server for a run
//	Run(ctx, Options, *slog.Logger) error  // consumers + HTTP until ctx ends
//	Rank(*Inputs, Catalogue, k, maxPerCategory) []Ranked
//	NewMemory(items, maxPerCategory) *Memory  // the same rules in memory (bench/quality)
//
// Run serves:
//
//	GET /v1/recommendations?user_id=U&k=10   {"user_id":"U","items":[{"item_id","score","reason"}]}
//	GET /v1/users/{id}/profile               the user hash and top categories; 404 before any event
//	GET /healthz                             200 once the catalogue's initial load is done, else 503
//	GET /metrics                             Prometheus, own registry
//
// Bad requests get a 400 whose JSON body names the field:
// {"error": "k must be an integer from 1 to 100", "field": "k"}; a Redis
// failure is a 503 with a JSON body.
//
// # Data model
//
// Keys are plain strings: <id> below is the user or item id as is, with no
// hash tags (a single Redis, not a cluster). For each event of user U with
// weight w (the event type's weight: view 1, click 2, add_to_cart 4,
// purchase 8, review 3, share 3, push_open 1, dismiss -6, others 0):
//
//	u:U          hash   HINCRBY events 1; HSET last_ts <RFC 3339>, and device
//	                    and region when the event has them (every event)
//	u:U:cat      hash   HINCRBYFLOAT <category> w    (item events with w != 0, item in the catalogue)
//	u:U:brand    hash   HINCRBYFLOAT <brand> w       (same)
//	u:U:recent   list   LPUSH item, LTRIM 0 RecentMax-1 (item events with w > 0)
//	u:U:bought   set    SADD item                    (purchase)
//	u:U:dismissed set   SADD item                    (dismiss)
//	pop          zset   ZINCRBY w item               (item events with w > 0)
//	pop:<cat>    zset   ZINCRBY w item               (same, item in the catalogue)
//	co:<a>       zset   ZINCRBY 1 <b>                (see below)
//
// Co-occurrence: an item event with w > 0 pairs its item b with each
// distinct item a among the user's three most recent items before it (the
// first three entries of u:U:recent, b itself left out) and adds
// ZINCRBY co:a 1 b and ZINCRBY co:b 1 a. The consumer reads those lists
// with one pipelined LRANGE per user at the start of each poll and follows
// them through the poll in memory, so it needs no state of its own.
//
// There is no time decay and no co-occurrence window: affinities and
// popularity are plain sums, as a team's first version would have them.
// Sticky decays everything exactly; that difference is part of what the
// benchmark measures.
//
// # Delivery
//
// At-least-once. Each poll of at most Options.Batch records is written with
// one non-transactional pipeline, then its offsets are committed, then
// sticky_baseline_events_consumed_total grows by the number of records. A
// crash, or a Redis error that makes the consumer retry a pipeline, between
// the write and the commit applies those events again: counts and sums
// then exceed the log's. Malformed records are counted in
// sticky_baseline_events_invalid_total, logged once per reason and skipped.
package baseline
