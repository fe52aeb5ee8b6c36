#include "node/daemon/delivery.h"

#include <chrono>

#include "contracts/builtin.h"
#include "contracts/common.h"
#include "node/base/log.h"
#include "node/base/thread_name.h"
#include "node/config/config.h"
#include "node/executor/executor.h"

namespace meterchain::node {
namespace {

// How often one pass tries fresh nonces when another transaction of the node's key holds one.
constexpr int kNonceAttempts = 4;

uint64_t WallMs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

std::string Short(const std::string& id) { return id.substr(0, 16); }


template <typename Message>
Result<Message> QueryAs(const contracts::Registry& registry, std::string_view contract,
                        std::string_view method, const v1::QueryArgs& args,
                        const contracts::StateView& state) {
    const contracts::Contract* c = registry.Find(contract);
    if (c == nullptr) return NotFound("no contract '" + std::string(contract) + "'");
    auto bytes = c->Query(method, contracts::SerializeProto(args), state);
    if (!bytes.ok()) return bytes.status();
    Message out;
    MC_RETURN_IF_ERROR(contracts::ParseProto(*bytes, &out, method));
    return out;
}

}  // namespace

Result<std::unique_ptr<Delivery>> Delivery::Create(const v1::NodeConfig& config,
                                                   const storage::ChainStore& store,
                                                   const contracts::Registry& registry,
                                                   const crypto::Signer& signer, SubmitFn submit,
                                                   InMempoolFn in_mempool) {
    auto key = config::LoadSm2KeyFile(config.key_file());
    if (!key.ok()) return key.status();
    DeliveryOptions o;
    o.chain_id = config.chain_id();
    o.org = config.name();
    o.offchain_dir = std::filesystem::path(config.data_dir()) / "offchain";
    return std::unique_ptr<Delivery>(new Delivery(std::move(o), store, registry, signer,
                                                  std::move(*key), std::move(submit),
                                                  std::move(in_mempool)));
}

Delivery::Delivery(DeliveryOptions options, const storage::ChainStore& store,
                   const contracts::Registry& registry, const crypto::Signer& signer,
                   crypto::Sm2PrivateKey key, SubmitFn submit, InMempoolFn in_mempool)
    : m_opt(std::move(options)),
      m_store(store),
      m_registry(registry),
      m_signer(signer),
      m_key(std::move(key)),
      m_submit(std::move(submit)),
      m_in_mempool(std::move(in_mempool)),
      m_records(m_opt.offchain_dir),
      m_vault(m_records) {}

Delivery::~Delivery() { Stop(); }

void Delivery::Start() {
    if (m_worker.joinable()) return;
    {
        std::lock_guard lock(m_mu);
        m_wake = true;  // grants left pending before a restart
    }
    m_worker = std::thread([this] {
        base::NameThisThread("mc-delivery");
        Run();
    });
}

void Delivery::OnCommitted() {
    {
        std::lock_guard lock(m_mu);
        m_wake = true;
    }
    m_cv.notify_one();
}

void Delivery::Stop() {
    {
        std::lock_guard lock(m_mu);
        m_stop = true;
    }
    m_cv.notify_one();
    if (m_worker.joinable()) m_worker.join();
}

void Delivery::Run() {
    for (;;) {
        {
            std::unique_lock lock(m_mu);
            m_cv.wait(lock, [&] { return m_stop || m_wake; });
            if (m_stop) return;
            m_wake = false;  // blocks committed during the pass wake it again
        }
        Pass();
    }
}

void Delivery::Pass() {
    executor::CommittedStateView state(m_store);
    v1::QueryArgs q;
    q.set_id(m_opt.org);
    auto pending = QueryAs<v1::PendingGrants>(m_registry, contracts::kSecDataContract,
                                              "PendingGrants", q, state);
    if (!pending.ok()) {
        if (pending.status().code() != StatusCode::kNotFound) {
            MC_LOG(kWarn, "delivery", "cannot list pending grants")(
                "error", pending.status().ToString());
        }
        return;
    }
    // Nonces continue after the committed one; past it only while own Delivers are pending.
    // A Deliver dropped from the pool must not leave a gap in front of the next one.
    bool own_pending = false;
    for (const auto& [id, hash] : m_in_flight) own_pending = own_pending || m_in_mempool(hash);
    if (!own_pending) m_last_nonce = 0;
    std::set<std::string> still_pending;
    for (const auto& grant : pending->grants()) still_pending.insert(grant.request_id());
    for (const auto& grant : pending->grants()) {
        const std::string& id = grant.request_id();
        if (m_given_up.count(id) != 0) continue;
        auto in_flight = m_in_flight.find(id);
        if (in_flight != m_in_flight.end()) {
            if (m_in_mempool(in_flight->second)) continue;
            auto loc = m_store.FindTransaction(in_flight->second);
            if (loc.ok()) {
                if (loc->receipt.code == 0) continue;  // delivered; gone from the list next pass
                MC_LOG(kWarn, "delivery", "Deliver failed on chain")("request", Short(id))(
                    "reason", loc->receipt.message);
                m_given_up.insert(id);
                m_in_flight.erase(in_flight);
                continue;
            }
            // Neither pending nor committed: dropped from the pool; deliver again.
            m_in_flight.erase(in_flight);
        }
        if (!DeliverOne(grant)) break;  // shutting down or the pool is full: next pass
    }
    for (auto it = m_in_flight.begin(); it != m_in_flight.end();) {
        it = still_pending.count(it->first) != 0 ? std::next(it) : m_in_flight.erase(it);
    }
    for (auto it = m_given_up.begin(); it != m_given_up.end();) {
        it = still_pending.count(*it) != 0 ? std::next(it) : m_given_up.erase(it);
    }
}

bool Delivery::DeliverOne(const v1::AccessDecision& grant) {
    const std::string& id = grant.request_id();
    auto give_up = [&](const Status& why) {
        // Tampered or missing data is reported, never delivered. Messages name no content.
        MC_LOG(kWarn, "delivery", "grant cannot be delivered")("request", Short(id))(
            "error", why.ToString());
        m_given_up.insert(id);
        return true;
    };
    executor::CommittedStateView state(m_store);
    v1::QueryArgs q;
    q.set_record_type(grant.record_type());
    q.set_id(grant.record_id());
    auto stored = QueryAs<v1::StoredRecord>(m_registry, contracts::kValidityContract, "Record",
                                            q, state);
    if (!stored.ok()) return give_up(stored.status());
    auto args =
        contracts::PrepareDelivery(m_opt.chain_id, grant, *stored, m_vault, m_opt.org, m_key);
    if (!args.ok()) return give_up(args.status());

    for (int attempt = 0; attempt < kNonceAttempts; ++attempt) {
        const uint64_t nonce = NextNonce();
        auto tx = contracts::SignContractCall(m_opt.chain_id, nonce, WallMs(),
                                              contracts::kSecDataContract, "Deliver", *args,
                                              m_signer);
        auto hash = m_submit(std::move(tx));
        if (hash.ok()) {
            m_last_nonce = nonce;
            m_in_flight[id] = *hash;
            MC_LOG(kInfo, "delivery", "delivery submitted")("request", Short(id))(
                "type", contracts::RecordTypeName(grant.record_type()))(
                "requester", grant.requester())("tx", ToHex(*hash).substr(0, 16));
            return true;
        }
        const Status& s = hash.status();
        const bool nonce_taken =
            s.code() == StatusCode::kAlreadyExists ||
            (s.code() == StatusCode::kInvalidArgument &&
             s.message().find("nonce") != std::string::npos);
        if (nonce_taken) {
            m_last_nonce = nonce;  // another transaction of this key holds it
            continue;
        }
        if (s.code() == StatusCode::kFailedPrecondition ||
            s.code() == StatusCode::kResourceExhausted) {
            return false;
        }
        return give_up(s);
    }
    MC_LOG(kWarn, "delivery", "no free nonce for Deliver; retrying after the next block")(
        "request", Short(id));
    return true;
}

uint64_t Delivery::NextNonce() {
    return std::max(executor::CommittedNonce(m_store, m_signer.PublicKey()), m_last_nonce) + 1;
}

}  // namespace meterchain::node
