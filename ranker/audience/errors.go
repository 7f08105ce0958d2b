package audience

import "errors"

// ErrTooFew is returned by Refit when too few customers have a repeat
// purchase day to fit the models.
var ErrTooFew = errors.New("too few repeat customers to fit")
