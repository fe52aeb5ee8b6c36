// POST /api/verification/query: the specification's Appendix B query.
//
// Request body (JSON, exactly these three string fields):
//   {"barCode": "<22 digits>", "tableCode": "" | "<a test item's tableCode>", "veriTaskNo": "<16 digits>"}
// Answer: {"code":200,"data":{<the verification result's fields>,"tableNames":[...]},"msg":"成功!"};
// with a tableCode, tableNames holds only that test item.
//
// Who sees what (docs/GATEWAY.md, "Authorisation"): the caller is an organisation (the server
// authenticated it). The record is read from committed state (validity/rec/..., a
// StoredRecord) and released only when the chain's own storage says the caller may read it:
//   - public class (ciphertext on chain): the caller is the owner or one of the organisations
//     the record key was wrapped for (the readers the chain's permissions named at upload);
//   - digest-only class: the caller is the owner.
// The plaintext is produced the way the storage class allows this node to: a public record by
// unwrapping the record key wrapped for this node's own organisation (its SM2 key) and checking
// the on-chain SM3 digest; a digest-only record from this node's vault (<data_dir>/offchain),
// digest checked, when this node's organisation owns it. The chain validation key K is never
// used for reads. A caller that is no longer a registered organisation is refused.
//
// Errors (envelope, data null): 400 malformed JSON / missing, extra or non-string field / bad
// format; 403 caller not allowed; 404 no such record or tableCode; 500 data failing its digest
// check (tampering); 503 this node cannot decrypt the record (its organisation holds no key).
//
// Cache: opened records are kept (bounded, least recently used out) keyed by their state key
// and checked against the current StoredRecord's digest on every request, so a replaced record
// is never served stale and the SM2 unwrap runs once per record, not per request.
//
// Thread-safety: Handle may run concurrently on any thread.
#pragma once

#include <cstddef>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "contracts/offchain.h"
#include "node/crypto/sm.h"
#include "node/gateway/router.h"
#include "node/metrics/metrics.h"
#include "node/storage/chain_store.h"
#include "proto/metrology.pb.h"

namespace meterchain::gateway {

struct VerificationQueryOptions {
    std::string chain_id;
    std::string org;                     // this node's organisation (its name)
    std::filesystem::path offchain_dir;  // this node's vault
    size_t cache_entries = 4096;
};

class VerificationQuery {
public:
    // `store` must outlive this object; `key` is this node's SM2 key (never logged, never
    // leaves this object); `metrics` may be null.
    VerificationQuery(VerificationQueryOptions options, const storage::ChainStore& store,
                      crypto::Sm2PrivateKey key, metrics::Registry* metrics);

    HttpResponse Handle(const HttpRequest& request);

private:
    struct Opened {
        std::string digest;  // the StoredRecord digest it matches
        std::shared_ptr<const v1::VerificationResult> record;
        std::string json;                             // the whole record as `data`
    };
    // From the cache when the digest matches; else opens, parses and caches.
    Result<std::shared_ptr<const Opened>> Open(const std::string& state_key,
                                               const std::string& record_id,
                                               const v1::StoredRecord& stored);

    const VerificationQueryOptions m_opt;
    const storage::ChainStore& m_store;
    const crypto::Sm2PrivateKey m_key;
    contracts::DirectoryRecordStore m_records;
    contracts::OffchainVault m_vault;
    metrics::Counter* m_cache_hits = nullptr;
    metrics::Counter* m_cache_misses = nullptr;

    std::mutex m_mu;
    // Least recently used at the back.
    std::list<std::pair<std::string, std::shared_ptr<const Opened>>> m_lru;  // guarded by m_mu
    std::unordered_map<std::string, decltype(m_lru)::iterator> m_index;      // guarded by m_mu
};

}  // namespace meterchain::gateway
