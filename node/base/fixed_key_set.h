// A set of 32-byte keys (hashes) with a fixed capacity and all of its memory allocated up
// front: inserting into a full set forgets the oldest key (first in, first out). Long-running
// caches use it so that their memory is the same after a minute as after a day.
//
// Layout: the keys sit in a ring in insertion order; an open-addressing table (linear probing,
// at most half full) maps a key to its ring position. Deletion shifts entries back, so there
// are no tombstones and lookups never degrade.
//
// Thread-safety: none; callers serialise access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "node/base/bytes.h"

namespace meterchain::base {

class FixedKeySet {
public:
    // `capacity` is clamped to [1, 2^31).
    explicit FixedKeySet(size_t capacity);

    // Adds `key`; false (and no change, not even of its age) when it is already present.
    bool Insert(const Hash256& key);
    bool Contains(const Hash256& key) const;
    size_t size() const { return m_size; }
    size_t capacity() const { return m_keys.size(); }

private:
    static constexpr uint32_t kEmpty = UINT32_MAX;
    size_t Home(const Hash256& key) const;
    size_t Find(const Hash256& key) const;  // table index, or m_slots.size() if absent
    void EraseAt(size_t index);

    std::vector<Hash256> m_keys;    // ring: m_keys[(m_head + i) % capacity], i < m_size
    std::vector<uint32_t> m_slots;  // ring positions; kEmpty where free; size a power of two
    size_t m_mask = 0;
    size_t m_head = 0;
    size_t m_size = 0;
};

}  // namespace meterchain::base
