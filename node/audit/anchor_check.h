// The replay's cross-chain check (OPS-3): every anchor an upper chain accepted is checked
// again, independently of its re-execution, against the lower chain's validator set registered
// in the replayed state: the headers link, the digest matches, a quorum of registered
// validators signed the last header, and the stored anchor record is what the transaction
// carried. A failure is a Mismatch of check "anchor". Chains without anchors pass trivially.
// Not thread-safe (the replay calls it from one thread).
#pragma once

#include <cstdint>
#include <optional>

#include "node/audit/replay.h"
#include "node/crypto/signer.h"

namespace meterchain::audit {

class AnchorCheck final : public BlockCheck {
public:
    std::optional<Mismatch> CheckBlock(const chain::Block& block,
                                       const contracts::StateView& state_after) override;
    uint64_t anchors_checked() const { return m_checked; }

private:
    crypto::Sm2Verifier m_verifier;
    uint64_t m_checked = 0;
};

}  // namespace meterchain::audit
