// Consensus messages of the PBFT core (domain types; proto/consensus.proto is the wire form).
//
// Every message carries the sender's validator index and an SM2 signature over its canonical
// signing bytes (SigningBytes below, each starting with its own domain tag). Commit votes are
// signed over chain::CommitVoteBytes so that the signatures collected for a block ARE its commit
// certificate. BlockResponse is not signed: the blocks in it carry their own certificates.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "node/base/bytes.h"
#include "node/chain/types.h"
#include "node/chain/validators.h"
#include "node/crypto/signer.h"

namespace meterchain::consensus {

// The primary's proposal of `block` at `height` in `view`. Its signature stands for the
// primary's PREPARE: the primary sends no PREPARE of its own for a block it proposes (only for
// one it re-proposes after a NEW-VIEW, see PreparedCert).
struct PrePrepare {
    uint64_t view = 0;
    uint64_t height = 0;
    chain::Block block;  // certificate empty
    uint32_t from = 0;
    Bytes signature;
};

enum class VoteKind : uint8_t { kPrepare = 1, kCommit = 2 };

// PREPARE or COMMIT for (view, height, block digest).
struct Vote {
    VoteKind kind = VoteKind::kPrepare;
    uint64_t view = 0;
    uint64_t height = 0;
    Hash256 digest{};
    uint32_t from = 0;
    Bytes signature;
    // PREPARE only: the primary's PRE-PREPARE signature for this digest, when the block came
    // from a pre-prepare. A replica that accepted another block at the same height and view
    // holds proof that the primary equivocated. Self-authenticating, so not covered by
    // `signature`.
    Bytes proposal_signature;
};

// Announces the block hash and state root at a checkpoint height (every K heights).
struct Checkpoint {
    uint64_t height = 0;
    Hash256 block_hash{};
    Hash256 state_root{};
    uint32_t from = 0;
    Bytes signature;
};

// A block prepared in `view`, with the 2f+1 prepare signatures proving it.
struct PreparedCert {
    uint64_t view = 0;
    chain::Block block;                         // certificate empty
    // Vote{kPrepare} signatures; the view's primary's is its PRE-PREPARE signature, unless the
    // block was re-proposed by a NEW-VIEW (then the primary sent a PREPARE too).
    std::vector<chain::CommitSignature> prepares;
};

struct ViewChange {
    uint64_t new_view = 0;
    // The sender's last committed block (height and its commit certificate); none at genesis.
    bool has_committed = false;
    chain::CommitCertificate committed;
    // For each uncommitted height, the highest-view prepared certificate the sender holds.
    std::vector<PreparedCert> prepared;
    uint32_t from = 0;
    Bytes signature;
};

// Sent by the primary of `view` with the 2f+1 view changes that justify it. Every replica
// recomputes the blocks to re-propose from them (Core::Select), so nothing else is sent.
struct NewView {
    uint64_t view = 0;
    std::vector<ViewChange> view_changes;
    uint32_t from = 0;
    Bytes signature;
};

// A NEW-VIEW handed on by a replica of its view (`from`) to one that missed it. The peer
// transport accepts only frames whose sender is the stream's peer, so a replica cannot send
// the primary's message as it is; it wraps it. Not signed itself: the stream authenticates the
// relaying peer, and the NEW-VIEW inside keeps the primary's signature and those of its view
// changes, all checked as if it came from the primary (VerifyMessage checks the primary's).
struct NewViewRelay {
    NewView new_view;
    uint32_t from = 0;
};

// Asks a peer for committed blocks [from_height, to_height].
struct BlockRequest {
    uint64_t from_height = 0;
    uint64_t to_height = 0;
    uint32_t from = 0;
    Bytes signature;
};

// Committed blocks with their certificates, in height order. Not signed (self-certifying).
// `tip_height` is the sender's committed height when it answered: the requester keeps fetching
// up to it (a claim only, like a checkpoint's height; the blocks themselves are checked).
struct BlockResponse {
    std::vector<chain::Block> blocks;
    uint32_t from = 0;
    uint64_t tip_height = 0;
};

using Message = std::variant<PrePrepare, Vote, Checkpoint, ViewChange, NewView, BlockRequest,
                             BlockResponse, NewViewRelay>;

uint32_t Sender(const Message& m);
const char* MessageName(const Message& m);

// Canonical signing bytes (docs/ENCODING.md). `chain_id` binds every signature to one chain.
Bytes SigningBytes(const std::string& chain_id, const PrePrepare& m);
Bytes SigningBytes(const std::string& chain_id, const Vote& m);
Bytes SigningBytes(const std::string& chain_id, const Checkpoint& m);
Bytes SigningBytes(const std::string& chain_id, const ViewChange& m);
Bytes SigningBytes(const std::string& chain_id, const NewView& m);
Bytes SigningBytes(const std::string& chain_id, const BlockRequest& m);
// What the primary signs in a PRE-PREPARE, from its parts.
Bytes PrePrepareBytes(const std::string& chain_id, uint64_t view, uint64_t height, uint32_t from,
                      const Hash256& block_hash);
Bytes PrepareVoteBytes(const std::string& chain_id, uint64_t view, uint64_t height,
                       const Hash256& digest);

// Signs `m` in place (sets m.signature); `m.from` must already be set.
void SignMessage(const std::string& chain_id, const crypto::Signer& signer, Message& m);
// True when m's signature verifies against the validator it claims to come from.
// BlockResponse always passes (its blocks are checked one by one); a NewViewRelay passes when
// the NEW-VIEW inside verifies against its primary's key.
bool VerifyMessage(const std::string& chain_id, const chain::ValidatorSet& validators,
                   const crypto::Verifier& verifier, const Message& m);

// Verifies a prepared certificate: 2f+1 distinct valid prepare signatures for the block (the
// primary's may be its PRE-PREPARE signature).
bool VerifyPreparedCert(const std::string& chain_id, const chain::ValidatorSet& validators,
                        const crypto::Verifier& verifier, uint64_t height,
                        const PreparedCert& cert);

}  // namespace meterchain::consensus
