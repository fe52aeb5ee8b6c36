// Cross-chain proofs: a transaction of the provincial chain, shown committed there and anchored
// on every chain above it, checkable offline with nothing but the chains' validator public keys
// (docs/CROSSCHAIN.md, "Proofs"). Format: CrossChainProof (proto/crosschain.proto), written as
// its protobuf encoding; the verifier refuses any other encoding of the same content, so that
// every byte of the file is checked by some step.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "node/base/status.h"
#include "node/chain/validators.h"
#include "node/client/client.h"
#include "node/crypto/signer.h"
#include "proto/crosschain.pb.h"

namespace meterchain::crosschain {

inline constexpr const char* kProofFormat = "meterchain/proof/v1";

// Builds the proof of `tx_hash`, committed on the chain `lower` serves, through the chains
// served by `uppers` in order (main chain, then alliance chain). Waits until `deadline` for
// the anchors to appear. Errors: kNotFound when the transaction is not committed (or failed:
// a proof is of a successful transaction only if the caller checks its status), or when a
// level is not anchored by the deadline, naming the chain and height.
Result<v1::CrossChainProof> BuildProof(const Hash256& tx_hash, const client::Client& lower,
                                       const std::vector<const client::Client*>& uppers,
                                       std::chrono::steady_clock::time_point deadline);

// The validator sets a verifier trusts, by chain id (from trust.json, a TrustFile).
struct TrustedSets {
    std::map<std::string, chain::ValidatorSet> chains;
};
// kInvalidArgument naming the bad entry.
Result<TrustedSets> ParseTrust(const v1::TrustFile& file);

// One check of the verification, in order.
struct ProofStep {
    std::string name;    // e.g. "level 1 (stategrid-main-1) merkle-path"
    bool ok = false;
    std::string detail;  // what was checked, or why it failed
};

struct ProofVerdict {
    bool ok = false;
    std::vector<ProofStep> steps;  // up to and including the first failure
    std::string proven_tx;         // hex hash of the proven transaction (when ok)
};

// Checks a proof file's bytes offline. Never throws; the verdict names the failing step.
ProofVerdict VerifyProof(ByteView file, const TrustedSets& trust, const crypto::Verifier& verifier);

}  // namespace meterchain::crosschain
