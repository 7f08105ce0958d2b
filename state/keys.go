package state

import "encoding/binary"

// Key layout. One Badger keyspace, one prefix byte per kind of record:
//
//	u <user id>                      user feature vector (AppendUser)
//	i <partition:4 BE> <item id>     one partition's share of an item's statistics, as of a checkpoint (appendItemShare)
//	d <partition:4 BE> <offset:8 BE> the item deltas of the batch ending at offset, until a checkpoint covers them (AppendDeltas)
//	o <partition:4 BE> <topic>       offset of the last record applied from topic/partition (8 bytes BE)
//	l <partition:4 BE>               the partition's share of the ranker's learned model (ranker.Share encoding)
//	c <item id>                      catalogue entry (JSON)
//	m <name>                         engine metadata (e.g. the fitted value models, JSON)
//	p <kind> <campaign> …            push campaigns, their targets and acknowledgements (see push.go)
//
// Item statistics are kept per source partition so that each partition
// worker owns its keys outright: its share and its offset commit together,
// and readers sum the shares (features.ItemStats.Merge). A batch writes
// its item deltas (d), not the shares they change; a checkpoint writes the
// shares changed since the last one, each saying up to which offset it is
// current, then deletes the delta records that all shares cover. A share is
// recovered as stored plus the partition's delta records above its offset,
// applied in offset order (Store.RecoverItemParts). The learned model
// is kept the same way: one share per partition, written with its offset,
// merged by the ranker.
const (
	prefixUser      = 'u'
	prefixItemPart  = 'i'
	prefixDeltas    = 'd'
	prefixOffset    = 'o'
	prefixModel     = 'l'
	prefixCatalogue = 'c'
	prefixMeta      = 'm'
	prefixPush      = 'p'
)

func userKey(dst []byte, id string) []byte {
	dst = append(dst, prefixUser)
	return append(dst, id...)
}

func itemPartKey(dst []byte, partition int32, item string) []byte {
	dst = append(dst, prefixItemPart)
	dst = binary.BigEndian.AppendUint32(dst, uint32(partition))
	return append(dst, item...)
}

func itemPartPrefix(partition int32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixItemPart}, uint32(partition))
}

func deltasKey(dst []byte, partition int32, offset int64) []byte {
	dst = append(dst, prefixDeltas)
	dst = binary.BigEndian.AppendUint32(dst, uint32(partition))
	return binary.BigEndian.AppendUint64(dst, uint64(offset))
}

func deltasPrefix(partition int32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixDeltas}, uint32(partition))
}

func offsetKey(topic string, partition int32) []byte {
	k := binary.BigEndian.AppendUint32([]byte{prefixOffset}, uint32(partition))
	return append(k, topic...)
}

func catalogueKey(id string) []byte { return append([]byte{prefixCatalogue}, id...) }

func modelKey(partition int32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixModel}, uint32(partition))
}
