package audience

import "errors"

// ErrTooFew is returned by Refit when too few customers have a repeat
// purchase day to fit the models.
var ErrTooFew = errors.New("too few repeat customers to fit")

// ErrLoading is returned by whatever needs the whole population (Refit,
// and callers of a table that is not Loaded) while it is still loading
// from the store.
var ErrLoading = errors.New("the audience is still loading")
