// Off-chain side of the storage classes and of SecDataAccess (SEC-3, CON-2). Plain library code
// for the node daemon and the tools; none of it runs inside a contract, so it may use
// randomness and files.
//
//   - RecordStore: where an organisation keeps its non-public records (memory or directory).
//   - OffchainVault: keeps serialized records and hands them out only after re-hashing them
//     against the on-chain SM3 digest; a mismatch is reported as tampering (kCorruption).
//   - Owner side of a grant: PrepareDelivery / BuildDelivery encrypt the record to the
//     requester's one-time SM2 key (an SM4 Seal key wrapped with SM2).
//   - Requester side: OpenDelivery decrypts and checks the digest.
//
// Private keys are parameters of these functions only; nothing here puts them into a
// transaction argument, and none of the returned messages contains one.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "contracts/records.h"
#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/crypto/sm.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts {

// Byte blobs by key. Implementations are thread-safe.
class RecordStore {
public:
    virtual ~RecordStore() = default;
    virtual Status Put(std::string_view key, ByteView value) = 0;
    // kNotFound when absent.
    virtual Result<Bytes> Get(std::string_view key) const = 0;
};

class MemoryRecordStore final : public RecordStore {
public:
    Status Put(std::string_view key, ByteView value) override;
    Result<Bytes> Get(std::string_view key) const override;
    // Test hook: replaces a value without any check (simulates tampering on disk).
    void Overwrite(std::string_view key, ByteView value);

private:
    mutable std::mutex m_mu;
    std::map<std::string, Bytes, std::less<>> m_data;  // guarded by m_mu
};

// One file per key under `dir` (created if missing); writes go to a temporary file that is
// renamed into place, so a crash never leaves a half-written record.
class DirectoryRecordStore final : public RecordStore {
public:
    explicit DirectoryRecordStore(std::filesystem::path dir);
    Status Put(std::string_view key, ByteView value) override;
    Result<Bytes> Get(std::string_view key) const override;
    std::filesystem::path PathOf(std::string_view key) const;

private:
    std::filesystem::path m_dir;
    mutable std::mutex m_mu;  // serialises writers of the same file
};

class OffchainVault {
public:
    // `store` must outlive the vault.
    explicit OffchainVault(RecordStore& store) : m_store(store) {}

    // The store key of a record ("<type:02>-<hex SM3(record id)>").
    static std::string StoreKey(RecordType type, std::string_view record_id);

    // Keeps the serialized record; returns its SM3 digest (the value that goes on chain).
    Result<Hash256> Keep(RecordType type, std::string_view record_id, ByteView content);

    // Loads the record and re-hashes it. kCorruption ("tampering ...") when SM3 differs from
    // `onchain_digest`; kNotFound when absent. Every display or export goes through this.
    Result<Bytes> LoadVerified(RecordType type, std::string_view record_id,
                               ByteView onchain_digest) const;

    // LoadVerified, then the record's JSON form for display or export.
    Result<std::string> ExportJson(RecordType type, std::string_view record_id,
                                   ByteView onchain_digest) const;

private:
    RecordStore& m_store;
};

// Owner side: encrypts `content` to the grant's one-time key. Refuses (kFailedPrecondition)
// when the grant was refused, and (kCorruption) when SM3(content) is not the granted digest,
// so tampered data is never delivered.
Result<v1::EncryptedDelivery> BuildDelivery(const v1::AccessDecision& grant, ByteView content);

// Owner side, end to end: fetches the record's plaintext (digest-only: from the vault, checked;
// public: by unwrapping the owner's own record key) and builds the Deliver arguments.
Result<v1::DeliverArgs> PrepareDelivery(std::string_view chain_id, const v1::AccessDecision& grant,
                                        const v1::StoredRecord& stored, const OffchainVault& vault,
                                        std::string_view owner_org,
                                        const crypto::Sm2PrivateKey& owner_key);

// Requester side: decrypts with the one-time private key and checks SM3 against the decision's
// on-chain digest. kUnauthenticated for a wrong key or altered ciphertext, kCorruption for a
// digest mismatch.
Result<Bytes> OpenDelivery(const v1::AccessDecision& decision,
                           const v1::EncryptedDelivery& delivery,
                           const crypto::Sm2PrivateKey& one_time_key);

}  // namespace meterchain::contracts
