// Helpers of the meterctl commands that act as an organisation against a running node: committed
// state read through the client API, the sender's next nonce, and wall time for transactions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "contracts/contract.h"
#include "node/base/codec.h"
#include "node/client/client.h"
#include "node/crypto/signer.h"

namespace meterchain::tools {

// Committed state of a node, read through the client API (state holds only digests and
// ciphertext, so reading it remotely discloses nothing). Read-only: writes are ignored.
class RemoteState final : public contracts::StateView {
public:
    explicit RemoteState(const client::Client& c) : m_client(c) {}
    std::optional<Bytes> Get(std::string_view key) const override {
        auto v = m_client.Query("state", "raw", AsBytes(key));
        if (!v.ok()) return std::nullopt;
        return *v;
    }
    void Put(std::string_view, ByteView) override {}
    void Delete(std::string_view) override {}
    void Scan(std::string_view prefix,
              const std::function<bool(std::string_view, ByteView)>& fn) const override {
        auto v = m_client.Query("state", "scan", AsBytes(prefix));
        if (!v.ok()) return;
        codec::Reader r(*v);
        uint32_t n = 0;
        if (!r.U32(n)) return;
        for (uint32_t i = 0; i < n; ++i) {
            std::string k;
            Bytes value;
            if (!r.Text(k) || !r.Blob(value)) return;
            if (!fn(k, value)) return;
        }
    }

private:
    const client::Client& m_client;
};

// The sender's last committed nonce + 1.
inline uint64_t NextNonce(const client::Client& c, const crypto::Signer& s) {
    auto last = c.LastNonce(s.PublicKey());
    return (last.ok() ? *last : 0) + 1;
}

inline uint64_t NowMs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

}  // namespace meterchain::tools
