// Package ranker decides what to show: candidate generation, scoring,
// business rules and reasons for the storefront's recommendation requests.
//
// An Index holds the merged statistics of every item and exact top-N lists
// built from them (popular overall, per category, per context bucket) plus a
// trending list. Partition workers feed it the deltas of each committed
// batch; it is rebuilt from the state store at start-up.
//
// A Ranker answers Recommend: candidates come from co-occurrence with the
// user's recent items and the current item, popular items of the user's
// categories (weighted by context: daypart and device), popular items of the
// request's context bucket (region × daypart), trending and popular items,
// the user's own items (Config.Repeat), and finally the catalogue, so even a
// brand-new user gets K items. One function computes each candidate's
// feature vector, for serving and training alike; the score is the prior
// (hand-set Weights) plus a learned part (Model: a linear model trained
// online with FTRL-Proximal, package learn, on each choice a shopper made
// among the candidates: the softmax over them), each times the features.
// Partition workers train Shares of the Model as they fold events
// (Share.Train) and Publish them once committed; requests read the merged
// weights without a lock. Exclusion rules (purchased unless repeatable,
// dismissed, unavailable, excluded by the request) and an optional
// diversity rule (at most MaxPerCategory per category) shape the top K,
// and every item carries reasons: the model's largest contributions.
//
// Request.Validate is the one check of a request's fields: Recommend runs
// it, and so does the HTTP API before it parses the rest of the query.
// Files follow the request: request.go (the API types), candidates.go,
// score.go (the feature vector, scoring, boosts, diversity), model.go (the
// learned model, its shares and training), reasons.go; config.go holds Config
// and its defaults, errors.go the sentinel errors.
//
// The package does no I/O of its own and does not import Kafka, Badger or
// Prometheus.
package ranker
