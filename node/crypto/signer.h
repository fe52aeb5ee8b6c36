// Narrow signing interfaces that consensus/ and contracts/ depend on, so that a simulation can
// substitute a fast deterministic suite for SM2.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "node/base/bytes.h"
#include "node/crypto/sm.h"
#include "node/crypto/sm2_table.h"

namespace meterchain::crypto {

// Signs on behalf of one identity. Implementations are thread-safe.
class Signer {
public:
    virtual ~Signer() = default;
    virtual const Bytes& PublicKey() const = 0;  // the identity, as carried on chain
    virtual Bytes Sign(ByteView msg) const = 0;
};

// Verifies signatures made by any identity. Implementations are thread-safe.
class Verifier {
public:
    virtual ~Verifier() = default;
    virtual bool Verify(ByteView public_key, ByteView msg, ByteView signature) const = 0;
};

// SM2 with a fixed distinguishing ID. Holds the private key in memory only.
class Sm2Signer final : public Signer {
public:
    explicit Sm2Signer(Sm2PrivateKey key, std::string id = std::string(kDefaultSm2Id));
    const Bytes& PublicKey() const override { return m_public; }
    Bytes Sign(ByteView msg) const override;

private:
    Sm2PrivateKey m_key;
    Bytes m_public;
    std::string m_id;
};

// Parsed public keys are cached (validators and active clients sign again and again, and
// parsing a point costs a good part of a verification). The cache holds at most
// kMaxCachedKeys keys and is cleared when full.
//
// Keys given to Precompute (the validators', which sign every consensus message) are
// verified with precomputed tables instead (Sm2KeyTable: same answers, 2.5-3.5 times
// faster); every other key goes through EVP_DigestVerify.
class Sm2Verifier final : public Verifier {
public:
    static constexpr size_t kMaxCachedKeys = 65536;

    explicit Sm2Verifier(std::string id = std::string(kDefaultSm2Id)) : m_id(std::move(id)) {}
    bool Verify(ByteView public_key, ByteView msg, ByteView signature) const override;
    // Builds the tables for `raw_public` (30-70 ms and about 0.7 MiB a key), kept for the life
    // of this verifier. kInvalidArgument if it is not an SM2 public key. Meant for a few
    // long-lived keys; thread-safe.
    Status Precompute(ByteView raw_public);
    // SM2 verifications performed so far (for the benchmark's signature accounting).
    uint64_t verifications() const { return m_verifications.load(std::memory_order_relaxed); }
    // CPU time (of the calling threads) those verifications took, in nanoseconds. Against the
    // process's CPU time it gives the share spent on signature checks, measured under the same
    // conditions as the rest of its work.
    uint64_t verify_cpu_ns() const { return m_verify_cpu_ns.load(std::memory_order_relaxed); }

private:
    std::string m_id;
    mutable std::atomic<uint64_t> m_verifications{0};
    mutable std::atomic<uint64_t> m_verify_cpu_ns{0};
    mutable std::mutex m_mutex;
    mutable std::unordered_map<std::string, std::shared_ptr<const Sm2PublicKey>> m_keys;  // guarded by m_mutex
    std::unordered_map<std::string, std::shared_ptr<const Sm2KeyTable>> m_tables;  // guarded by m_mutex
};

}  // namespace meterchain::crypto
