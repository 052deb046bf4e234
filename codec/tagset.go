package codec

import "hash/maphash"

// tagSet finds an earlier tag with the same key among the tags of the
// metric being decoded, so that the last value of a duplicate key wins
// in place. Few tags are searched linearly; past linearTags it switches to
// an open-addressing table keyed by a seeded hash, keeping a hostile
// body with many tags linear in time. Owned by one JSONDecoder.
type tagSet struct {
	slots  []int32 // index+1 into Batch.Tags; 0 is empty; len is a power of two
	n      int     // tags in slots
	active bool    // slots describe the current metric
	seeded bool
	seed   maphash.Seed
}

const linearTags = 16

func (s *tagSet) reset() { s.active = false }

// put adds key=val to b.Tags, whose tags from index start on belong to the
// current metric, or replaces the value of an earlier equal key; added
// reports which.
func (s *tagSet) put(b *Batch, start int, key, val []byte) (added bool) {
	cur := b.Tags[start:]
	if !s.active {
		for i := range cur {
			if string(cur[i].Key) == string(key) {
				cur[i].Value = val
				return false
			}
		}
		appendTag(b, key, val)
		if len(cur)+1 >= linearTags {
			s.build(b, start)
		}
		return true
	}
	mask := len(s.slots) - 1
	for h := s.hash(key) & mask; ; h = (h + 1) & mask {
		j := s.slots[h]
		if j == 0 {
			s.slots[h] = int32(len(b.Tags) + 1)
			appendTag(b, key, val)
			s.n++
			if 2*s.n > len(s.slots) {
				s.build(b, start)
			}
			return true
		}
		if t := &b.Tags[j-1]; string(t.Key) == string(key) {
			t.Value = val
			return false
		}
	}
}

// build (re)hashes the current metric's tags, whose keys are distinct,
// into a table at most half full.
func (s *tagSet) build(b *Batch, start int) {
	if !s.seeded {
		s.seed, s.seeded = maphash.MakeSeed(), true
	}
	n := len(b.Tags) - start
	size := 4 * linearTags
	for size < 4*n {
		size *= 2
	}
	if cap(s.slots) >= size {
		s.slots = s.slots[:size]
		clear(s.slots)
	} else {
		s.slots = make([]int32, size)
	}
	mask := size - 1
	for i := start; i < len(b.Tags); i++ {
		h := s.hash(b.Tags[i].Key) & mask
		for s.slots[h] != 0 {
			h = (h + 1) & mask
		}
		s.slots[h] = int32(i + 1)
	}
	s.n, s.active = n, true
}

func (s *tagSet) hash(key []byte) int { return int(maphash.Bytes(s.seed, key) >> 1) }

// appendTag appends key=val to b.Tags. It stores the two views straight
// into the new element: building a Tag value first and copying it costs a
// failed store-to-load forward on every tag.
func appendTag(b *Batch, key, val []byte) {
	n := len(b.Tags)
	if n < cap(b.Tags) {
		b.Tags = b.Tags[:n+1]
	} else {
		b.Tags = append(b.Tags, Tag{})
	}
	t := &b.Tags[n]
	t.Key, t.Value = key, val
}
