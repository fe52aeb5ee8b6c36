#include "test/sim/fake_crypto.h"

#include <algorithm>

namespace meterchain::sim {

namespace {

// FNV-1a, 64-bit, seeded; two lanes make a 128-bit tag. Not cryptographic: good enough to
// make accidental collisions impossible in a simulation, and ~100x faster than SM2.
uint64_t Fnv(uint64_t seed, ByteView a, ByteView b) {
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (uint8_t c : a) h = (h ^ c) * 1099511628211ULL;
    for (uint8_t c : b) h = (h ^ c) * 1099511628211ULL;
    return h;
}

Bytes Tag(uint32_t index, ByteView msg) {
    const std::string secret = "sim-sk-" + std::to_string(index);
    Bytes out;
    for (uint64_t lane : {Fnv(1, AsBytes(secret), msg), Fnv(2, AsBytes(secret), msg)}) {
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(lane >> (8 * i)));
    }
    return out;
}

}  // namespace

Bytes FakePublicKey(uint32_t index) { return ToBytes("sim-pk-" + std::to_string(index)); }

Bytes FakeSigner::Sign(ByteView msg) const { return Tag(m_index, msg); }

bool FakeVerifier::Verify(ByteView public_key, ByteView msg, ByteView signature) const {
    const std::string pk(public_key.begin(), public_key.end());
    if (pk.rfind("sim-pk-", 0) != 0) return false;
    const uint32_t index = static_cast<uint32_t>(std::stoul(pk.substr(7)));
    const Bytes expected = Tag(index, msg);
    return std::equal(expected.begin(), expected.end(), signature.begin(), signature.end());
}

}  // namespace meterchain::sim
