package state

import (
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Push campaigns live under the 'p' prefix (prefixPush, see keys.go), each
// version of a campaign in a generation of its own:
//
//	p c <campaign>                            the campaign (JSON, naming its generation)
//	p t <campaign> 0 <gen:8 BE> <chunk:4 BE>  a chunk of its selected targets
//	p a <campaign> 0 <gen:8 BE> <user>        the acknowledgement of a user
//
// A campaign is written by writing its targets under a new generation,
// then the campaign key in one transaction: a crash in between leaves the
// old campaign (or none) whole. Campaign ids hold no NUL byte.
//
// pushPrefix returns the prefix of a campaign's keys of one kind.
func pushPrefix(kind byte, campaign string) []byte {
	k := append([]byte{prefixPush, kind}, campaign...)
	if kind != 'c' {
		k = append(k, 0)
	}
	return k
}

func pushGenPrefix(kind byte, campaign string, gen uint64) []byte {
	return binary.BigEndian.AppendUint64(pushPrefix(kind, campaign), gen)
}

// PushStore keeps push campaigns, their targets and acknowledgements.
type PushStore struct{ s *Store }

// Push returns the store's push campaigns.
func (s *Store) Push() PushStore { return PushStore{s} }

// PutCampaign writes generation gen of a campaign: its targets (chunks in
// order), then the campaign, which makes the generation current at once.
// Other generations of the campaign are removed afterwards.
func (p PushStore) PutCampaign(id string, gen uint64, campaign []byte, chunks [][]byte) error {
	wb := p.s.newWriteBatch()
	defer wb.Cancel()
	for i, c := range chunks {
		if err := wb.Set(binary.BigEndian.AppendUint32(pushGenPrefix('t', id, gen), uint32(i)), c); err != nil {
			return fmt.Errorf("cannot store targets of campaign %s: %w", id, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("cannot store targets of campaign %s: %w", id, err)
	}
	err := p.s.update(func(txn *badger.Txn) error { return txn.Set(pushPrefix('c', id), campaign) })
	if err != nil {
		return fmt.Errorf("cannot store campaign %s: %w", id, err)
	}
	return p.Sweep(id, gen)
}

// PutAcks records acknowledgements (user -> value) of generation gen of a
// campaign, in one transaction.
func (p PushStore) PutAcks(id string, gen uint64, acks map[string][]byte) error {
	err := p.s.update(func(txn *badger.Txn) error {
		for user, v := range acks {
			if err := txn.Set(append(pushGenPrefix('a', id, gen), user...), v); err != nil {
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

// DeleteCampaign removes a campaign (at once), then its targets and
// acknowledgements.
func (p PushStore) DeleteCampaign(id string) error {
	err := p.s.update(func(txn *badger.Txn) error { return txn.Delete(pushPrefix('c', id)) })
	if err != nil {
		return fmt.Errorf("cannot delete campaign %s: %w", id, err)
	}
	return p.Sweep(id, 0)
}

// Sweep deletes the targets and acknowledgements of every generation of a
// campaign but keep (0: all of them).
func (p PushStore) Sweep(id string, keep uint64) error {
	var keys [][]byte
	for _, kind := range []byte{'t', 'a'} {
		prefix := pushPrefix(kind, id)
		err := p.s.scan(prefix, func(k, _ []byte) error {
			if len(k) >= len(prefix)+8 && binary.BigEndian.Uint64(k[len(prefix):]) != keep {
				keys = append(keys, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	wb := p.s.newWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return fmt.Errorf("cannot sweep campaign %s: %w", id, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("cannot sweep campaign %s: %w", id, err)
	}
	return nil
}

// Campaigns calls fn for every stored campaign.
func (p PushStore) Campaigns(fn func(id string, v []byte) error) error {
	return p.s.scan([]byte{prefixPush, 'c'}, func(k, v []byte) error { return fn(string(k[2:]), v) })
}

// Targets calls fn for every target chunk of generation gen of a campaign,
// in order.
func (p PushStore) Targets(id string, gen uint64, fn func(v []byte) error) error {
	return p.s.scan(pushGenPrefix('t', id, gen), func(_, v []byte) error { return fn(v) })
}

// Acks calls fn for every acknowledgement of generation gen of a campaign.
func (p PushStore) Acks(id string, gen uint64, fn func(user string, v []byte) error) error {
	prefix := pushGenPrefix('a', id, gen)
	return p.s.scan(prefix, func(k, v []byte) error { return fn(string(k[len(prefix):]), v) })
}
