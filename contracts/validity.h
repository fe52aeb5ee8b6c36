// Contract "validity", method "Validity" (CON-1): checks a signed record set against the rule
// set stored on chain and stores only the valid records (ciphertext or digest, CON-3).
//
//   Validity(records, rules, validator signatures) -> ValidityResult (one RecordResult per
//   record, overall true/false), stored at validity/result/<tx hash hex>.
//
// Per call: one pass over the records; per record a bounded number of state reads (owner check,
// REFERENCE / INSTITUTION / NO_DUPLICATE rules). Governance data (organisations, permissions,
// policies, rules) is loaded once per call. Nothing is quadratic in the batch size.
//
// State layout (docs/CONTRACTS.md):
//   validity/rec/<type:02>/<hex SM3(record id)>   StoredRecord
//   validity/result/<tx hash hex>                 ValidityResult
//   validity/batch/<uploader>/<hex SM3(batch id)> tx hash hex of the accepting call
#pragma once

#include <string>
#include <string_view>

#include "contracts/contract.h"
#include "node/crypto/signer.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts {

// Names of the built-in (non-rule) checks reported in RecordResult.rule_id.
inline constexpr std::string_view kCheckType = "TYPE";
inline constexpr std::string_view kCheckPermission = "PERMISSION";
inline constexpr std::string_view kCheckStorage = "STORAGE";
inline constexpr std::string_view kCheckEncoding = "ENCODING";
inline constexpr std::string_view kCheckIndex = "INDEX";
inline constexpr std::string_view kCheckOwner = "OWNER";
inline constexpr std::string_view kCheckSignatures = "SIGNATURES";
inline constexpr std::string_view kCheckRuleSetVersion = "RULE_SET_VERSION";
// Public records: no validation key to open them with (chain or node), or the envelope / sealed
// record does not open (wrong key, altered ciphertext, wrong record id).
inline constexpr std::string_view kCheckValidationKey = "VALIDATION_KEY";
inline constexpr std::string_view kCheckCiphertext = "CIPHERTEXT";

// SM3 over the canonical encoding of one submitted record (what validator signatures cover).
Hash256 RecordSubmissionDigest(const v1::RecordSubmission& record);

// The bytes every validator signs for a record set:
//   Text("meterchain/validity/v1") Text(chain_id) Text(uploader) Text(batch_id)
//   U64(rule_set_version) U32(count) { Digest(RecordSubmissionDigest(record)) }*
Bytes ValiditySigningBytes(std::string_view chain_id, std::string_view uploader,
                           const v1::ValiditySubmission& submission);

// Off chain: appends `org`'s signature over the record set. Sign after the records, batch id
// and rule set version are final.
void SignValiditySubmission(std::string_view chain_id, std::string_view uploader,
                            std::string_view org, const crypto::Signer& signer,
                            v1::ValiditySubmission* submission);

std::string ValidityResultKey(const Hash256& tx_hash);

// Methods: "Validity" (ValiditySubmission). Fails the transaction (no writes) only when the
// arguments are malformed, the signer is not an organisation (kPermissionDenied) or the batch id
// was already accepted for this uploader (kAlreadyExists); every other problem is reported in
// the stored ValidityResult.
// Queries (QueryArgs): "Result" (id = tx hash hex) -> ValidityResult;
//   "Record" (record_type, id = record id) -> StoredRecord.
class ValidityContract final : public Contract {
public:
    std::string_view Name() const override;
    Status Call(const CallContext& ctx, std::string_view method, ByteView args,
                StateView& state) override;
    Result<Bytes> Query(std::string_view method, ByteView args,
                        const StateView& state) const override;
};

}  // namespace meterchain::contracts
