// Wire conversion between the PBFT messages of consensus/messages.h and their protobuf form
// (proto/consensus.proto), for the peer transport.
//
// Signatures cover the canonical bytes of consensus::SigningBytes, never these encodings, so
// the contract is field equality: FromProto(ToProto(m)) equals m in every field, including
// every `from` and `signature`, Vote::proposal_signature, the prepare signatures inside
// prepared certificates and the commit signatures inside certificates and blocks.
//
// Where `from` and `signature` travel:
//   - the top-level message's in ConsensusEnvelope.from / .signature;
//   - a view change also carries its own in ViewChangeMsg.from / .signature, because view
//     changes are nested inside NEW-VIEW. For a top-level VIEW-CHANGE both places are filled
//     and must agree on decode;
//   - BlockResponse has `from` but no signature: the envelope's signature is left empty and a
//     non-empty one is rejected;
//   - NewViewRelay: the envelope's `from` is the relaying replica and its signature is empty
//     (a non-empty one is rejected); the primary's `from` and signature of the NEW-VIEW inside
//     travel in NewViewRelayMsg.primary / .primary_signature.
// ViewChange::has_committed is the presence of ViewChangeMsg.committed; when has_committed is
// false, ViewChange::committed is not sent (it means nothing) and decodes as default.
//
// FromProto checks only the shape of the input, not its authenticity: the caller still runs
// consensus::VerifyMessage, certificate and block checks. Stateless and thread-safe.
#pragma once

#include <cstddef>

#include "consensus/messages.h"
#include "node/base/status.h"
#include "proto/consensus.pb.h"

namespace meterchain::net {

// Caps on repeated fields FromProto accepts (beyond them the input is refused, not truncated).
// Generous for any realistic validator set or history; the transport's maximum message size
// bounds everything else (transactions per block, signatures per certificate).
inline constexpr size_t kMaxViewChanges = 1024;        // per NEW-VIEW
inline constexpr size_t kMaxPreparedCerts = 4096;      // per VIEW-CHANGE
inline constexpr size_t kMaxBlocksPerResponse = 1024;  // per BLOCK-RESPONSE

// Never fails: any domain message has a wire form.
v1::ConsensusEnvelope ToProto(const consensus::Message& m);

// Errors (all kInvalidArgument, the message naming the offending field): no body set; a hash
// field (vote digest, checkpoint hashes, block header hashes, certificate block hashes) that is
// not 32 bytes; a vote kind other than PREPARE or COMMIT; a repeated field beyond the caps
// above; a missing or malformed nested block or certificate; a top-level view change whose own
// from/signature disagree with the envelope's; a signature on a BLOCK-RESPONSE.
Result<consensus::Message> FromProto(const v1::ConsensusEnvelope& e);

}  // namespace meterchain::net
