package features

import "fmt"

// FieldError is a validation failure tied to one field of an event or item.
type FieldError struct {
	Field  string // wire name, e.g. "item_id" or "context.tz"
	Reason string // e.g. "is required"
}

func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
