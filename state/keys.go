package state

import "encoding/binary"

// Key layout. One Badger keyspace, one prefix byte per kind of record:
//
//	u <user id>                      user feature vector (AppendUser)
//	i <partition:4 BE> <item id>     one partition's share of an item's statistics (AppendItemStats)
//	o <partition:4 BE> <topic>       offset of the last record applied from topic/partition (8 bytes BE)
//	l <partition:4 BE>               the partition's share of the ranker's learned model (ranker.Share encoding)
//	c <item id>                      catalogue entry (JSON)
//	m <name>                         engine metadata (e.g. the fitted value models, JSON)
//	p <kind> <campaign> …            push campaigns, their targets and acknowledgements (see push.go)
//
// Item statistics are kept per source partition so that each partition
// worker owns its keys outright: its share and its offset commit together,
// and readers sum the shares (features.ItemStats.Merge). The learned model
// is kept the same way: one share per partition, written with its offset,
// merged by the ranker.
const (
	prefixUser      = 'u'
	prefixItemPart  = 'i'
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

func offsetKey(topic string, partition int32) []byte {
	k := binary.BigEndian.AppendUint32([]byte{prefixOffset}, uint32(partition))
	return append(k, topic...)
}

func catalogueKey(id string) []byte { return append([]byte{prefixCatalogue}, id...) }

func modelKey(partition int32) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefixModel}, uint32(partition))
}
