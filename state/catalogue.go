package state

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/stickyhq/sticky/features"
)

// Catalogue is the in-memory catalogue: every item of the compacted items
// topic, as loaded into the store. Items are immutable once published: Put
// replaces the pointer, so readers may keep what Get returned. It is safe
// for concurrent use.
type Catalogue struct {
	// items maps id to *features.Item. A sync.Map: every candidate of
	// every request and training event reads it, from all cores, and a
	// read-write mutex's shared counter made those reads contend.
	items sync.Map
	n     atomic.Int64
	ver   atomic.Uint64 // changes counted by Apply

	mu     sync.Mutex                       // serialises writers and rebuilds of sorted
	sorted atomic.Pointer[[]*features.Item] // by id; nil when stale, rebuilt by Sorted
}

// NewCatalogue returns an empty catalogue.
func NewCatalogue() *Catalogue { return &Catalogue{} }

// LoadCatalogue returns the catalogue held in s.
func LoadCatalogue(s *Store) (*Catalogue, error) {
	c := NewCatalogue()
	err := s.ScanCatalogue(func(it *features.Item) error {
		if _, loaded := c.items.Swap(it.ID, it); !loaded {
			c.n.Add(1)
		}
		return nil
	})
	return c, err
}

// Get returns the item with id, or nil.
func (c *Catalogue) Get(id string) *features.Item {
	it, ok := c.items.Load(id)
	if !ok {
		return nil
	}
	return it.(*features.Item)
}

// Apply upserts puts and removes dels.
func (c *Catalogue) Apply(puts []features.Item, dels []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range puts {
		it := puts[i]
		if _, loaded := c.items.Swap(it.ID, &it); !loaded {
			c.n.Add(1)
		}
	}
	for _, id := range dels {
		if _, loaded := c.items.LoadAndDelete(id); loaded {
			c.n.Add(-1)
		}
	}
	c.sorted.Store(nil)
	c.ver.Add(1)
}

// Version changes whenever Apply does: a reader that cached an item read
// after seeing version v may keep it while Version is still v.
func (c *Catalogue) Version() uint64 { return c.ver.Load() }

// Len returns the number of items.
func (c *Catalogue) Len() int { return int(c.n.Load()) }

// Sorted returns every item ordered by id. The slice is shared and must not
// be modified; it is rebuilt only after the catalogue changes.
func (c *Catalogue) Sorted() []*features.Item {
	if s := c.sorted.Load(); s != nil {
		return *s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.sorted.Load(); s != nil {
		return *s
	}
	s := make([]*features.Item, 0, c.Len())
	c.items.Range(func(_, it any) bool {
		s = append(s, it.(*features.Item))
		return true
	})
	slices.SortFunc(s, func(a, b *features.Item) int { return strings.Compare(a.ID, b.ID) })
	c.sorted.Store(&s)
	return s
}
