package clv

import "errors"

// ErrNoData is returned by the fits when there is nothing to fit.
var ErrNoData = errors.New("no customers to fit")
