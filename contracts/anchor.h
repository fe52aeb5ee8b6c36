// Contract "anchor": the upper chain as a light client of the chains registered below it
// (docs/CROSSCHAIN.md). A lower chain is registered by governance (action register_chain:
// chain id, validator set in index order). A relay then submits certified ranges of its blocks;
// the contract accepts a range only when
//   - the chain is registered and not stopped,
//   - every header names that chain id and the headers form one prev_hash chain,
//   - the range digest matches the headers,
//   - the last header carries a commit certificate of a quorum of distinct registered validators
//     with valid SM2 signatures,
//   - the range starts right after the last anchored height and its first prev_hash is the
//     last anchored block's hash.
// Anything else is refused (the transaction fails, nothing written) with a message that starts
// with one of the reason codes below. Two different certified blocks at one height are not
// refused but recorded: the evidence is stored and the chain's anchoring stops for good (the
// call succeeds so that the evidence is kept).
//
// State layout (docs/CONTRACTS.md):
//   anchor/chain/<chain id>                  ChainAnchorStatus (registration + progress)
//   anchor/header/<chain id>/<height:020>    AnchoredHeaderEntry, every anchored height
//   anchor/range/<chain id>/<to height:020>  AnchorRecord, one per accepted anchor
//   anchor/evidence/<chain id>               EquivocationEvidence
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "contracts/contract.h"
#include "node/crypto/signer.h"
#include "proto/crosschain.pb.h"

namespace meterchain::contracts {

inline constexpr std::string_view kAnchorContract = "anchor";

// Reason codes: the first word of a refusal's message.
inline constexpr std::string_view kAnchorUnregisteredChain = "UNREGISTERED_CHAIN";
inline constexpr std::string_view kAnchorWrongChainId = "WRONG_CHAIN_ID";
inline constexpr std::string_view kAnchorMalformed = "MALFORMED";
inline constexpr std::string_view kAnchorBrokenHeaders = "BROKEN_HEADER_CHAIN";
inline constexpr std::string_view kAnchorDigestMismatch = "DIGEST_MISMATCH";
inline constexpr std::string_view kAnchorCertificateMismatch = "CERTIFICATE_MISMATCH";
inline constexpr std::string_view kAnchorForged = "FORGED_CERTIFICATE";
inline constexpr std::string_view kAnchorShort = "SHORT_CERTIFICATE";
inline constexpr std::string_view kAnchorUnregisteredSigner = "UNREGISTERED_SIGNER";
inline constexpr std::string_view kAnchorDuplicateSigner = "DUPLICATE_SIGNER";
inline constexpr std::string_view kAnchorGap = "GAP";
inline constexpr std::string_view kAnchorOverlap = "OVERLAP";
inline constexpr std::string_view kAnchorDuplicate = "DUPLICATE";  // already anchored, same
inline constexpr std::string_view kAnchorStopped = "STOPPED";

// Most headers one anchor may carry (bounds the work of one call).
inline constexpr size_t kMaxAnchorHeaders = 4096;

// Governance action register_chain (called from ApplyGovernanceAction): validates and stores
// the registration. A chain registered again gets the new validator set and keeps its
// progress. kInvalidArgument naming the bad field.
Status ApplyRegisterChain(StateView& state, const v1::RegisteredChain& chain);

// The registration and progress of one lower chain; nullopt when not registered.
Result<std::optional<v1::ChainAnchorStatus>> FindAnchoredChain(const StateView& state,
                                                               std::string_view chain_id);

// Methods:
//   Anchor  AnchorArgs -> AnchorRecord at anchor/range/..., headers, progress; or evidence.
//           Any signer may submit (the certificate, not the submitter, is what is trusted).
// Queries (AnchorQuery):
//   Chains                       -> ChainAnchorStatusList, by chain id
//   Chain (chain_id)             -> ChainAnchorStatus (last anchored height and time, lag)
//   Header (chain_id, height)    -> AnchoredHeader
//   Anchors (chain_id, height = first to_height, limit) -> AnchorRecordList in height order
//   Evidence (chain_id)          -> EquivocationEvidence
class AnchorContract final : public Contract {
public:
    std::string_view Name() const override;
    Status Call(const CallContext& ctx, std::string_view method, ByteView args,
                StateView& state) override;
    Result<Bytes> Query(std::string_view method, ByteView args,
                        const StateView& state) const override;

private:
    Status Anchor(const CallContext& ctx, ByteView args, StateView& state);

    crypto::Sm2Verifier m_verifier;  // thread-safe; caches parsed validator keys
};

}  // namespace meterchain::contracts
