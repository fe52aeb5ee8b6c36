// Hashing of Hash256 keys for unordered containers.
#pragma once

#include <cstddef>
#include <cstring>

#include "node/base/bytes.h"

namespace meterchain::mempool {

// Transaction hashes are SM3 digests, uniformly distributed and not choosable by a sender,
// so their first bytes are a good hash on their own.
struct Hash256Hasher {
    size_t operator()(const Hash256& h) const noexcept {
        size_t out;
        std::memcpy(&out, h.data(), sizeof(out));
        return out;
    }
};

}  // namespace meterchain::mempool
