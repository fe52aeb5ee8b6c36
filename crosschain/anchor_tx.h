// Anchor transactions as the relay builds them and a proof verifier reads them, and the anchor
// contract's queries over the client API. The contract side is contracts/anchor.h; the
// formats are in proto/crosschain.proto and docs/CROSSCHAIN.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/client/client.h"
#include "node/crypto/signer.h"
#include "proto/crosschain.pb.h"
#include "proto/node.pb.h"

namespace meterchain::crosschain {

inline constexpr const char* kAnchorContractName = "anchor";
inline constexpr const char* kAnchorMethod = "Anchor";

// The anchor of a run of consecutive committed blocks of `chain_id` (summaries in height
// order, as StreamCommits delivers them): their headers, the range digest and the last
// block's certificate. kInvalidArgument when the list is empty or not consecutive.
Result<v1::AnchorArgs> BuildAnchorArgs(const std::string& chain_id,
                                       const std::vector<v1::BlockSummary>& blocks,
                                       uint64_t source_tip);

// A TX_CONTRACT_CALL of anchor.Anchor on the upper chain, signed by the relay.
chain::Transaction SignAnchorTx(const std::string& upper_chain_id, uint64_t nonce,
                                uint64_t timestamp_ms, const v1::AnchorArgs& args,
                                const crypto::Signer& signer);

// The AnchorArgs inside a transaction body, when it is an anchor.Anchor call for the chain
// `chain_id` (the body's chain); kInvalidArgument saying what it is instead.
Result<v1::AnchorArgs> ParseAnchorTx(const chain::Transaction& tx);

// The anchor contract's status of `source_chain_id` on the chain `upper` serves; nullopt
// when that chain is not registered there.
Result<std::optional<v1::ChainAnchorStatus>> QueryAnchorStatus(const client::Client& upper,
                                                               const std::string& source_chain_id);

// The anchored header of a lower height with the anchor covering it; nullopt when that height
// is not anchored (yet).
Result<std::optional<v1::AnchoredHeader>> QueryAnchoredHeader(const client::Client& upper,
                                                              const std::string& source_chain_id,
                                                              uint64_t height);

// Accepted anchors of a chain with to_height >= from_to_height, in height order.
Result<std::vector<v1::AnchorRecord>> QueryAnchors(const client::Client& upper,
                                                   const std::string& source_chain_id,
                                                   uint64_t from_to_height, uint32_t limit);

// The reason code at the start of a refused anchor's message ("GAP", "DUPLICATE", ...), or ""
std::string AnchorReasonCode(const std::string& message);

}  // namespace meterchain::crosschain
