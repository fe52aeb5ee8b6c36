#include "node/base/fixed_key_set.h"

#include <algorithm>
#include <cstring>

namespace meterchain::base {

FixedKeySet::FixedKeySet(size_t capacity) {
    capacity = std::clamp<size_t>(capacity, 1, (size_t{1} << 31) - 1);
    size_t table = 4;
    while (table < 2 * capacity) table *= 2;
    // Value-initialised, so every page is written (and resident) from the start.
    m_keys.assign(capacity, Hash256{});
    m_slots.assign(table, kEmpty);
    m_mask = table - 1;
}

size_t FixedKeySet::Home(const Hash256& key) const {
    uint64_t w[4];
    std::memcpy(w, key.data(), sizeof w);
    // Keys are usually hashes already; the mix keeps structured keys from clustering.
    uint64_t h = (w[0] ^ (w[1] * 0x9e3779b97f4a7c15ULL) ^ (w[2] * 0xc2b2ae3d27d4eb4fULL) ^ w[3]);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return static_cast<size_t>(h) & m_mask;
}

size_t FixedKeySet::Find(const Hash256& key) const {
    for (size_t i = Home(key);; i = (i + 1) & m_mask) {
        const uint32_t pos = m_slots[i];
        if (pos == kEmpty) return m_slots.size();
        if (m_keys[pos] == key) return i;
    }
}

bool FixedKeySet::Contains(const Hash256& key) const { return Find(key) != m_slots.size(); }

void FixedKeySet::EraseAt(size_t hole) {
    // Backward-shift deletion: pull later entries of the probe run into the hole unless their
    // home lies cyclically in (hole, j], where moving them would put them before their home.
    for (size_t j = (hole + 1) & m_mask; m_slots[j] != kEmpty; j = (j + 1) & m_mask) {
        const size_t home = Home(m_keys[m_slots[j]]);
        const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays) continue;
        m_slots[hole] = m_slots[j];
        hole = j;
    }
    m_slots[hole] = kEmpty;
}

bool FixedKeySet::Insert(const Hash256& key) {
    if (Contains(key)) return false;
    const size_t cap = m_keys.size();
    if (m_size == cap) {
        EraseAt(Find(m_keys[m_head]));
        m_head = (m_head + 1) % cap;
        --m_size;
    }
    const size_t pos = (m_head + m_size) % cap;
    m_keys[pos] = key;
    size_t i = Home(key);
    while (m_slots[i] != kEmpty) i = (i + 1) & m_mask;
    m_slots[i] = static_cast<uint32_t>(pos);
    ++m_size;
    return true;
}

}  // namespace meterchain::base
