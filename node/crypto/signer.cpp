#include "node/crypto/signer.h"

#include <time.h>

namespace meterchain::crypto {
namespace {

uint64_t ThreadCpuNs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

// The raw public key is computed once: it is the identity and is read on every message sent.
Sm2Signer::Sm2Signer(Sm2PrivateKey key, std::string id)
    : m_key(std::move(key)), m_public(m_key.PublicKey().Raw()), m_id(std::move(id)) {}

Bytes Sm2Signer::Sign(ByteView msg) const { return m_key.Sign(msg, m_id); }

Status Sm2Verifier::Precompute(ByteView raw_public) {
    auto table = Sm2KeyTable::Build(raw_public, m_id);
    if (!table.ok()) return table.status();
    std::lock_guard lock(m_mutex);
    m_tables[std::string(raw_public.begin(), raw_public.end())] = std::move(*table);
    return Status::Ok();
}

bool Sm2Verifier::Verify(ByteView public_key, ByteView msg, ByteView signature) const {
    const std::string raw(public_key.begin(), public_key.end());
    std::shared_ptr<const Sm2PublicKey> key;
    std::shared_ptr<const Sm2KeyTable> table;
    {
        std::lock_guard lock(m_mutex);
        if (auto t = m_tables.find(raw); t != m_tables.end()) {
            table = t->second;
        } else if (auto it = m_keys.find(raw); it != m_keys.end()) {
            key = it->second;
        }
    }
    if (!table && !key) {
        auto parsed = Sm2PublicKey::FromRaw(public_key);
        if (!parsed.ok()) return false;
        key = std::make_shared<const Sm2PublicKey>(std::move(*parsed));
        std::lock_guard lock(m_mutex);
        if (m_keys.size() >= kMaxCachedKeys) m_keys.clear();
        m_keys.emplace(raw, key);
    }
    m_verifications.fetch_add(1, std::memory_order_relaxed);
    const uint64_t start = ThreadCpuNs();
    const bool ok = table ? table->Verify(msg, signature) : key->Verify(msg, signature, m_id);
    m_verify_cpu_ns.fetch_add(ThreadCpuNs() - start, std::memory_order_relaxed);
    return ok;
}

}  // namespace meterchain::crypto
