package ranker

import "errors"

// ErrBadRequest is wrapped by errors about the request itself.
var ErrBadRequest = errors.New("bad request")
