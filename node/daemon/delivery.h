// Owner side of SecDataAccess (CON-2) inside the node: after each committed block, the grants
// awaiting delivery by this node's organisation are delivered automatically.
//
// For each pending grant (secdata query PendingGrants, id = the node's name) the worker loads
// the record from the node's off-chain vault (<data_dir>/offchain, digest checked) or, for a
// public record, unwraps its own copy of the record key; encrypts it to the requester's
// one-time key (contracts::PrepareDelivery) and submits secdata.Deliver signed with the node's
// key. Data that fails its digest check is never delivered (logged as tampering).
//
// Threads: OnCommitted only records the height and wakes a dedicated worker thread, so the
// consensus thread never waits for SM2, file I/O or Submit. One pass per wake-up covers every
// block committed since the last one.
// Idempotence: the pending list is on-chain state (Deliver removes the grant), so a grant
// delivered once is never delivered again, also after a restart. While a Deliver is in flight
// (in the mempool, or committed but not yet visible) it is not resubmitted; a Deliver that
// failed on chain is logged and not retried until restart.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "contracts/contract.h"
#include "contracts/offchain.h"
#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/crypto/signer.h"
#include "node/crypto/sm.h"
#include "node/storage/chain_store.h"
#include "proto/config.pb.h"

namespace meterchain::node {

struct DeliveryOptions {
    std::string chain_id;
    std::string org;                     // the owner organisation this node delivers for
    std::filesystem::path offchain_dir;  // the node's off-chain vault
};

class Delivery {
public:
    // Submits a signed transaction (Node::Submit); called on the worker thread only.
    using SubmitFn = std::function<Result<Hash256>(chain::Transaction)>;
    using InMempoolFn = std::function<bool(const Hash256&)>;

    // Loads the node's SM2 private key (config.key_file) for re-encryption; `store`, `registry`
    // and `signer` (the node's key, for Deliver transactions) must outlive the Delivery.
    static Result<std::unique_ptr<Delivery>> Create(const v1::NodeConfig& config,
                                                    const storage::ChainStore& store,
                                                    const contracts::Registry& registry,
                                                    const crypto::Signer& signer, SubmitFn submit,
                                                    InMempoolFn in_mempool);
    ~Delivery();  // Stop()
    Delivery(const Delivery&) = delete;
    Delivery& operator=(const Delivery&) = delete;

    // Starts the worker, which first looks at the grants already pending (restart).
    void Start();
    // Wakes the worker; cheap and non-blocking. Any thread (the consensus thread calls it after
    // each committed block).
    void OnCommitted();
    // Stops and joins the worker (waits for a Submit in progress). Idempotent. Call before the
    // node stops accepting transactions.
    void Stop();

private:
    Delivery(DeliveryOptions options, const storage::ChainStore& store,
             const contracts::Registry& registry, const crypto::Signer& signer,
             crypto::Sm2PrivateKey key, SubmitFn submit, InMempoolFn in_mempool);
    void Run();
    void Pass();  // worker thread
    // Delivers one grant; false when it should be retried on a later pass.
    bool DeliverOne(const v1::AccessDecision& grant);
    uint64_t NextNonce();

    const DeliveryOptions m_opt;
    const storage::ChainStore& m_store;
    const contracts::Registry& m_registry;
    const crypto::Signer& m_signer;
    const crypto::Sm2PrivateKey m_key;  // never logged, never leaves this object
    const SubmitFn m_submit;
    const InMempoolFn m_in_mempool;
    contracts::DirectoryRecordStore m_records;
    contracts::OffchainVault m_vault;

    std::mutex m_mu;
    std::condition_variable m_cv;
    bool m_wake = false;  // guarded by m_mu
    bool m_stop = false;  // guarded by m_mu
    std::thread m_worker;

    // Worker thread only.
    std::map<std::string, Hash256> m_in_flight;  // request id -> submitted Deliver tx
    std::set<std::string> m_given_up;            // request ids that cannot be delivered
    uint64_t m_last_nonce = 0;  // highest nonce this worker submitted (0: use the committed one)
};

}  // namespace meterchain::node
