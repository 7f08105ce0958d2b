package state

import (
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Push campaigns live under the 'p' prefix:
//
//	p c <campaign>                 the campaign (JSON)
//	p t <campaign> 0 <chunk:4 BE>  a chunk of its selected targets
//	p a <campaign> 0 <user>        the acknowledgement of a user
//
// Campaign ids hold no NUL byte, so the NUL separates them from what follows.
const prefixPush = 'p'

func pushKey(kind byte, campaign string, rest []byte) []byte {
	k := append([]byte{prefixPush, kind}, campaign...)
	if kind != 'c' {
		k = append(k, 0)
		k = append(k, rest...)
	}
	return k
}

// PushStore keeps push campaigns, their targets and acknowledgements.
type PushStore struct{ s *Store }

// Push returns the store's push campaigns.
func (s *Store) Push() PushStore { return PushStore{s} }

// PutCampaign writes a campaign and its targets (chunks in order) in one
// transaction, replacing any campaign of that id with its targets and
// acknowledgements.
func (p PushStore) PutCampaign(id string, campaign []byte, chunks [][]byte) error {
	if err := p.DeleteCampaign(id); err != nil {
		return err
	}
	wb := p.s.db.NewWriteBatch()
	defer wb.Cancel()
	if err := wb.Set(pushKey('c', id, nil), campaign); err != nil {
		return fmt.Errorf("cannot store campaign %s: %w", id, err)
	}
	for i, c := range chunks {
		if err := wb.Set(pushKey('t', id, binary.BigEndian.AppendUint32(nil, uint32(i))), c); err != nil {
			return fmt.Errorf("cannot store targets of campaign %s: %w", id, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("cannot store campaign %s: %w", id, err)
	}
	return nil
}

// PutAcks records acknowledgements (user -> value) of a campaign.
func (p PushStore) PutAcks(id string, acks map[string][]byte) error {
	err := p.s.db.Update(func(txn *badger.Txn) error {
		for user, v := range acks {
			if err := txn.Set(pushKey('a', id, []byte(user)), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot store acknowledgements of campaign %s: %w", id, err)
	}
	return nil
}

// DeleteCampaign removes a campaign with its targets and acknowledgements.
func (p PushStore) DeleteCampaign(id string) error {
	var keys [][]byte
	keys = append(keys, pushKey('c', id, nil))
	for _, kind := range []byte{'t', 'a'} {
		err := p.s.scan(pushKey(kind, id, nil), func(k, _ []byte) error {
			keys = append(keys, append([]byte(nil), k...))
			return nil
		})
		if err != nil {
			return err
		}
	}
	wb := p.s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return fmt.Errorf("cannot delete campaign %s: %w", id, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("cannot delete campaign %s: %w", id, err)
	}
	return nil
}

// Campaigns calls fn for every stored campaign.
func (p PushStore) Campaigns(fn func(id string, v []byte) error) error {
	return p.s.scan([]byte{prefixPush, 'c'}, func(k, v []byte) error { return fn(string(k[2:]), v) })
}

// Targets calls fn for every target chunk of a campaign, in order.
func (p PushStore) Targets(id string, fn func(v []byte) error) error {
	return p.s.scan(pushKey('t', id, nil), func(_, v []byte) error { return fn(v) })
}

// Acks calls fn for every acknowledgement of a campaign.
func (p PushStore) Acks(id string, fn func(user string, v []byte) error) error {
	prefix := pushKey('a', id, nil)
	return p.s.scan(prefix, func(k, v []byte) error { return fn(string(k[len(prefix):]), v) })
}
