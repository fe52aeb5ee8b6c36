// Light-client checks of another chain's blocks, with nothing but that chain's validator set:
// a header's commit certificate, a chain of headers linked by prev_hash, and the digest of a
// range of headers that an anchor carries. Used by the anchor contract (contracts/anchor.h),
// the relay and the offline proof verifier (crosschain/). Pure functions, thread-safe as far
// as the Verifier passed in is.
//
//   range digest = SM3(Text("meterchain/anchor-range/v1") Text(chain_id) U64(from) U32(count)
//                      {Digest(header hash)}*)                                (docs/ENCODING.md)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "node/base/bytes.h"
#include "node/base/status.h"
#include "node/chain/types.h"
#include "node/chain/validators.h"
#include "node/crypto/signer.h"

namespace meterchain::chain {

const char* CertificateFaultName(CertificateFault fault);

// Checks that `cert` certifies `header`: same height and block hash, and a quorum of distinct
// validators of `set` signed CommitVoteBytes(header.chain_id, height, cert.view, hash). Every
// signature present is checked (a forged extra one fails the certificate). On failure returns
// kUnauthenticated with the reason and sets *fault (if given).
Status VerifyHeaderCertificate(const BlockHeader& header, const CommitCertificate& cert,
                               const ValidatorSet& set, const crypto::Verifier& verifier,
                               CertificateFault* fault = nullptr);

// Checks that headers[i+1] extends headers[i] for every i: height + 1 and prev_hash equal to
// the hash of headers[i]; and that every header names `chain_id`. kInvalidArgument naming the
// first break. An empty list is kInvalidArgument.
Status CheckHeaderChain(const std::vector<BlockHeader>& headers, const std::string& chain_id);

// Decodes canonical header encodings; kInvalidArgument naming the index of a bad one.
Result<std::vector<BlockHeader>> DecodeHeaders(const std::vector<Bytes>& encoded);

// The digest an anchor carries over the headers of its range (formula above).
Hash256 HeaderRangeDigest(const std::string& chain_id, const std::vector<BlockHeader>& headers);

}  // namespace meterchain::chain
