// Test fixture for the built-in contracts: a genesis from deploy/genesis.json with freshly
// generated SM2 keys, an in-process "executor" (per-call overlay, discarded on error) and sample
// records valid under the default rule set.
#pragma once

#include <google/protobuf/message.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "contracts/builtin.h"
#include "contracts/common.h"
#include "contracts/contract.h"
#include "contracts/offchain.h"
#include "contracts/records.h"
#include "contracts/validation_key.h"
#include "node/crypto/signer.h"
#include "node/crypto/sm.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts::testing {

namespace pb = google::protobuf;

std::string ReadFile(const std::string& path);
std::string SourcePath(const std::string& relative);  // path under the repository root
std::vector<std::string> ReadLines(const std::string& relative);

// The 32-byte private scalar inside a PKCS#8 SM2 key (to prove it never enters a transaction).
Bytes PrivateScalar(const crypto::Sm2PrivateKey& key);
bool Contains(ByteView haystack, ByteView needle);

// Sample record of `type`, valid under the default rule set; `n` varies its id. References point
// at the records of SeedReferences(): meter SampleBarCode(0), request CR000000, order WO000000.
std::unique_ptr<pb::Message> SampleRecord(RecordType type, int n);
std::string SampleBarCode(int n);
// The `n` to use so that a sample neither duplicates nor misses the seeded references.
int FreshSampleIndex(RecordType type);

// Sets / clears a scalar string field by its JSON name.
void SetField(pb::Message& m, const std::string& json_name, const std::string& value);
void ClearField(pb::Message& m, const std::string& json_name);

struct Org {
    std::string name;
    crypto::Sm2PrivateKey key;
    Bytes public_key;
    std::shared_ptr<crypto::Sm2Signer> signer;
};

class TestChain {
public:
    // Orgs: utility, regulator, third-party, institute (from deploy/genesis.json) plus
    // "auditor" (registered, roles ["auditor"], no permissions) and an unregistered "outsider".
    // The genesis carries the chain validation key wrapped for every validator organisation, as
    // `meterctl init-cluster` writes it, unless `with_validation_keys` is false.
    explicit TestChain(bool with_validation_keys = true);

    v1::ContractsGenesis genesis;
    MemoryState state;
    MemoryState replica;  // every committed call is applied to both (determinism check)
    Registry registry;
    std::map<std::string, Org> orgs;
    std::string chain_id = "tianjin-meter-test";
    uint64_t height = 1;
    uint64_t now_ms = 1'767'225'600'000;  // 2026-01-01: after every sample verification date
    std::vector<Bytes> payloads;  // every contract-call payload submitted
    // The chain validation key K; uploaders seal with it (Submit).
    ValidationKey validation_key = ValidationKey::Generate();
    // What every executing "node" passes in CallContext::validation (tests swap it).
    const ValidationOpener* node_validation = &validation_key;

    const Org& org(const std::string& name) const { return orgs.at(name); }

    // Executes one call as `org` (fresh tx hash, next height); commits on OK, discards on error.
    Status Call(const std::string& org, std::string_view contract, std::string_view method,
                const pb::Message& args, Hash256* tx_hash = nullptr);
    // Same as Call, but with a caller-supplied StateView as the committed state (for counting).
    Status CallOn(StateView& base, const std::string& org, std::string_view contract,
                  std::string_view method, const pb::Message& args, Hash256* tx_hash = nullptr);
    Result<Bytes> Query(std::string_view contract, std::string_view method,
                        const v1::QueryArgs& args) const;

    // A submission for `record` in its type's storage class; digest-only content is kept in
    // the owner's vault.
    v1::RecordSubmission Submit(const std::string& owner, RecordType type,
                                const pb::Message& record);
    // Signs with `signers` and uploads; returns the stored ValidityResult (REQUIREs success).
    v1::ValidityResult Upload(const std::string& uploader,
                              const std::vector<v1::RecordSubmission>& records,
                              const std::vector<std::string>& signers = {"third-party",
                                                                         "regulator"},
                              std::string batch_id = "");
    v1::ValiditySubmission MakeSubmission(const std::string& uploader,
                                          const std::vector<v1::RecordSubmission>& records,
                                          const std::vector<std::string>& signers,
                                          std::string batch_id = "");
    // Uploads meter SampleBarCode(0), calibration request CR000000 and order WO000000.
    void SeedReferences();

    uint64_t RuleSetVersion() const;
    OffchainVault& vault(const std::string& org);

private:
    uint64_t m_tx_counter = 0;
    int m_batch_counter = 0;
    std::map<std::string, std::unique_ptr<MemoryRecordStore>> m_stores;
    std::map<std::string, std::unique_ptr<OffchainVault>> m_vaults;
};

}  // namespace meterchain::contracts::testing
