package report

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/stickyhq/sticky/bench/system"
)

// WriteJSON writes r to path as indented JSON, replacing the file.
func WriteJSON(path string, r *system.Result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode result: %w", err)
	}
	b = append(b, '\n')
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("cannot write result: %w", err)
	}
	return nil
}

// ReadJSON reads a result file written by [WriteJSON]. Fields it does not
// know are ignored, so files of newer harnesses still render.
func ReadJSON(path string) (*system.Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read result: %w", err)
	}
	var r system.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("cannot decode result %s: %w", path, err)
	}
	return &r, nil
}
