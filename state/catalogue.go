package state

import (
	"slices"
	"strings"
	"sync"

	"github.com/stickyhq/sticky/features"
)

// Catalogue is the in-memory catalogue: every item of the compacted items
// topic, as loaded into the store. Items are immutable once published: Put
// replaces the pointer, so readers may keep what Get returned. It is safe
// for concurrent use.
type Catalogue struct {
	mu     sync.RWMutex
	items  map[string]*features.Item
	sorted []*features.Item // by id; nil when stale, rebuilt by Sorted
}

// NewCatalogue returns an empty catalogue.
func NewCatalogue() *Catalogue { return &Catalogue{items: make(map[string]*features.Item)} }

// LoadCatalogue returns the catalogue held in s.
func LoadCatalogue(s *Store) (*Catalogue, error) {
	c := NewCatalogue()
	err := s.ScanCatalogue(func(it *features.Item) error {
		c.items[it.ID] = it
		return nil
	})
	return c, err
}

// Get returns the item with id, or nil.
func (c *Catalogue) Get(id string) *features.Item {
	c.mu.RLock()
	it := c.items[id]
	c.mu.RUnlock()
	return it
}

// Apply upserts puts and removes dels.
func (c *Catalogue) Apply(puts []features.Item, dels []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range puts {
		it := puts[i]
		c.items[it.ID] = &it
	}
	for _, id := range dels {
		delete(c.items, id)
	}
	c.sorted = nil
}

// Len returns the number of items.
func (c *Catalogue) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}

// Sorted returns every item ordered by id. The slice is shared and must not
// be modified; it is rebuilt only after the catalogue changes.
func (c *Catalogue) Sorted() []*features.Item {
	c.mu.RLock()
	s := c.sorted
	c.mu.RUnlock()
	if s != nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sorted == nil {
		s := make([]*features.Item, 0, len(c.items))
		for _, it := range c.items {
			s = append(s, it)
		}
		slices.SortFunc(s, func(a, b *features.Item) int { return strings.Compare(a.ID, b.ID) })
		c.sorted = s
	}
	return c.sorted
}
