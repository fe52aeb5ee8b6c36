#include "contracts/validity.h"

#include <map>
#include <optional>
#include <set>
#include <vector>

#include "contracts/calibration.h"
#include "contracts/common.h"
#include "contracts/governance.h"
#include "contracts/records.h"
#include "contracts/rules.h"
#include "contracts/supervision.h"
#include "contracts/validation_key.h"
#include "node/base/codec.h"
#include "node/crypto/sm.h"

namespace meterchain::contracts {

namespace {

const std::string kResultPrefix = std::string(kValidityContract) + "/result/";
const std::string kBatchPrefix = std::string(kValidityContract) + "/batch/";
constexpr size_t kMaxBatchIdLength = 128;
constexpr size_t kMinSealedSize = 16 + 32;  // iv + tag

std::string BatchKey(std::string_view uploader, std::string_view batch_id) {
    return kBatchPrefix + std::string(uploader) + "/" + DigestHex(batch_id);
}

// Everything a call needs from governance, loaded once.
struct CallSetup {
    v1::Organisation uploader;
    v1::ValiditySettings settings;
    std::optional<CompiledRules> rules;
    std::optional<AccessMatrix> matrix;
    std::map<int, v1::RecordPolicy> policies;
    std::map<int, std::set<std::string, std::less<>>> readers;  // type -> authorised readers
    std::map<std::string, v1::Organisation, std::less<>> orgs;
    std::optional<Hash256> validation_check;  // the chain's validation key check value, if any
};

Result<CallSetup> LoadSetup(const StateView& state, ByteView sender) {
    CallSetup s;
    auto uploader = OrganisationOfSender(state, sender);
    if (!uploader.ok()) return uploader.status();
    s.uploader = std::move(*uploader);
    auto settings = LoadValiditySettings(state);
    if (!settings.ok()) return settings.status();
    s.settings = std::move(*settings);
    auto rule_set = LoadCurrentRuleSet(state);
    if (!rule_set.ok()) return rule_set.status();
    auto compiled = CompiledRules::Compile(*rule_set);
    if (!compiled.ok()) return Corruption("stored rule set: " + compiled.status().message());
    s.rules = std::move(*compiled);
    auto matrix = AccessMatrix::Load(state);
    if (!matrix.ok()) return matrix.status();
    s.matrix = std::move(*matrix);
    auto orgs = ListOrganisations(state);
    if (!orgs.ok()) return orgs.status();
    for (RecordType type : AllRecordTypes()) {
        auto policy = FindRecordPolicy(state, type);
        if (!policy.ok()) return policy.status();
        if (policy->has_value()) s.policies.emplace(type, **policy);
        auto& readers = s.readers[type];
        for (const auto& org : *orgs) {
            if (s.matrix->CanRead(org, type)) readers.insert(org.name());
        }
    }
    for (auto& org : *orgs) s.orgs.emplace(org.name(), std::move(org));
    s.validation_check = ChainValidationKeyCheck(state);
    return s;
}

// Empty when the validator signature set is acceptable; otherwise why not.
std::string CheckSignatures(const CallSetup& s, const Bytes& signing_bytes,
                            const v1::ValiditySubmission& submission) {
    std::set<std::string, std::less<>> signers;
    for (int i = 0; i < submission.signatures_size(); ++i) {
        const auto& sig = submission.signatures(i);
        std::string where = "signatures[" + std::to_string(i) + "] (" + sig.org() + "): ";
        auto org = s.orgs.find(sig.org());
        if (org == s.orgs.end()) return where + "not a registered organisation";
        if (!HasRole(org->second, s.settings.validator_role())) {
            return where + "organisation is not an authorised validator";
        }
        if (!signers.insert(sig.org()).second) return where + "duplicate signature";
        auto raw = FromHex(org->second.public_key());
        if (!raw || !crypto::Sm2Verify(*raw, signing_bytes, AsBytes(sig.signature()))) {
            return where + "signature does not verify";
        }
    }
    if (signers.size() < s.settings.required_validator_signatures()) {
        return std::to_string(signers.size()) + " validator signature(s), " +
               std::to_string(s.settings.required_validator_signatures()) + " required";
    }
    return {};
}

struct Checked {
    std::optional<std::string> id;  // set when the record id could be determined
    std::optional<RuleViolation> violation;
    Bytes digest;  // SM3 of the serialized record
};

// Opens a public record for validation: the envelope under the chain validation key K gives the
// record key and the claimed record id, the record key opens `sealed`. Sets `violation` (and
// returns nullopt) when that is not possible; the reasons name no field values.
std::optional<Bytes> OpenForValidation(const CallSetup& s, const CallContext& ctx,
                                       const v1::RecordSubmission& sub, std::string* claimed_id,
                                       std::optional<RuleViolation>& violation) {
    auto fail = [&](std::string_view rule, std::string reason) {
        violation = RuleViolation{std::string(rule), std::move(reason)};
        return std::nullopt;
    };
    if (!s.validation_check) {
        return fail(kCheckValidationKey,
                    "the chain has no validation key (genesis validation_keys is empty), so "
                    "public records cannot be validated");
    }
    // Only a misconfigured node gets here (the daemon refuses to start without its copy of K).
    if (ctx.validation == nullptr) {
        return fail(kCheckValidationKey, "this node holds no copy of the chain validation key");
    }
    if (!crypto::ConstantTimeEqual(ctx.validation->KeyCheck(), *s.validation_check)) {
        return fail(kCheckValidationKey, "this node's validation key is not the chain's");
    }
    auto envelope = ctx.validation->Open(AsBytes(sub.validation_envelope()),
                                         ValidationAad(ctx.chain_id, sub.type()));
    if (!envelope.ok()) {
        return fail(kCheckCiphertext,
                    "the validation envelope does not open under the chain validation key "
                    "(sealed with another key, for another chain or type, or altered)");
    }
    auto opened = DecodeValidationEnvelope(*envelope);
    if (!opened.ok()) return fail(kCheckCiphertext, "the validation envelope is malformed");
    auto content = crypto::Open(opened->first, AsBytes(sub.sealed()),
                                RecordAad(ctx.chain_id, sub.type(), opened->second));
    if (!content.ok()) {
        return fail(kCheckCiphertext,
                    "the sealed record does not open with the enveloped record key (altered, or "
                    "sealed for another record id)");
    }
    *claimed_id = std::move(opened->second);
    return std::move(*content);
}

// Built-in checks of one record and its field view; the rules run afterwards. A public record's
// plaintext lives only in `parsed` for the duration of the call and is never written.
Status CheckRecord(const CallSetup& s, const CallContext& ctx, const v1::RecordSubmission& sub,
                   Checked& out, std::unique_ptr<google::protobuf::Message>& parsed,
                   std::optional<RecordFields>& fields) {
    auto fail = [&](std::string_view rule, std::string reason) {
        out.violation = RuleViolation{std::string(rule), std::move(reason)};
        return Status::Ok();
    };
    RecordType type = sub.type();
    if (!IsKnownRecordType(type)) return fail(kCheckType, "unknown record type");
    auto policy = s.policies.find(type);
    if (policy == s.policies.end()) return fail(kCheckType, "no record policy for this type");
    std::string type_name(RecordTypeName(type));
    if (!s.matrix->CanWrite(s.uploader, type)) {
        return fail(kCheckPermission,
                    "organisation " + s.uploader.name() + " may not write " + type_name);
    }
    if (sub.storage_class() != policy->second.storage_class()) {
        return fail(kCheckStorage, type_name + " must be stored as " +
                                       v1::StorageClass_Name(policy->second.storage_class()));
    }
    std::optional<std::string> claimed_id;
    if (sub.storage_class() == v1::STORAGE_PUBLIC_ENCRYPTED) {
        if (!sub.content().empty()) {
            return fail(kCheckStorage,
                        "public records must not carry plaintext content (CON-3): seal it");
        }
        if (!sub.digest().empty() || sub.index_size() != 0) {
            return fail(kCheckStorage, "public records carry ciphertext, not a digest or index");
        }
        if (sub.sealed().size() < kMinSealedSize) {
            return fail(kCheckStorage, "sealed ciphertext is missing");
        }
        if (sub.validation_envelope().size() < kMinSealedSize) {
            return fail(kCheckStorage, "validation envelope is missing");
        }
        const auto& readers = s.readers.at(type);
        std::set<std::string, std::less<>> wrapped_for;
        for (const auto& w : sub.wrapped_keys()) {
            if (readers.count(w.org()) == 0) {
                return fail(kCheckStorage,
                            "record key wrapped for unauthorised organisation " + w.org());
            }
            if (w.wrapped().empty() || !wrapped_for.insert(w.org()).second) {
                return fail(kCheckStorage, "wrapped key for " + w.org() + " is empty or repeated");
            }
        }
        for (const auto& reader : readers) {
            if (wrapped_for.count(reader) == 0) {
                return fail(kCheckStorage, "no wrapped record key for organisation " + reader);
            }
        }
        std::string id_in_envelope;
        auto content = OpenForValidation(s, ctx, sub, &id_in_envelope, out.violation);
        if (!content) return Status::Ok();
        claimed_id = std::move(id_in_envelope);
        parsed = NewRecord(type);
        if (!parsed->ParseFromArray(content->data(), static_cast<int>(content->size())) ||
            !parsed->GetReflection()->GetUnknownFields(*parsed).empty()) {
            return fail(kCheckEncoding, "content is not a valid " + parsed->GetTypeName());
        }
        out.digest = ToBytes(crypto::Sm3(*content));
        fields.emplace(RecordFields::FromMessage(*parsed));
    } else {
        if (!sub.content().empty() || !sub.sealed().empty() || sub.wrapped_keys_size() != 0 ||
            !sub.validation_envelope().empty()) {
            return fail(kCheckStorage, "digest-only records must not carry content or ciphertext");
        }
        if (sub.digest().size() != 32) return fail(kCheckStorage, "digest must be 32 bytes (SM3)");
        std::set<std::string, std::less<>> names;
        for (const auto& f : sub.index()) {
            if (!HasRecordField(type, f.name()) || !names.insert(f.name()).second) {
                return fail(kCheckIndex, "index field '" + f.name() + "' is unknown or repeated");
            }
        }
        out.digest = ToBytes(sub.digest());
        fields.emplace(RecordFields::FromIndex(sub.index()));
    }
    auto id = RecordId(type, *fields);
    if (!id.ok()) return fail(kCheckIndex, id.status().message());
    if (claimed_id && *claimed_id != *id) {
        return fail(kCheckCiphertext,
                    "the record id sealed in the validation envelope is not the record's id");
    }
    out.id = std::move(*id);
    return Status::Ok();
}

}  // namespace

Hash256 RecordSubmissionDigest(const v1::RecordSubmission& r) {
    codec::Writer w;
    w.Text("meterchain/validity-record/v2")
        .U32(static_cast<uint32_t>(r.type()))
        .U32(static_cast<uint32_t>(r.storage_class()))
        .Digest(crypto::Sm3(AsBytes(r.content())))
        .Digest(crypto::Sm3(AsBytes(r.sealed())))
        .Digest(crypto::Sm3(AsBytes(r.validation_envelope())))
        .U32(static_cast<uint32_t>(r.wrapped_keys_size()));
    for (const auto& k : r.wrapped_keys())
        w.Text(k.org()).Digest(crypto::Sm3(AsBytes(k.wrapped())));
    w.Blob(AsBytes(r.digest())).U32(static_cast<uint32_t>(r.index_size()));
    for (const auto& f : r.index()) w.Text(f.name()).Text(f.value());
    return crypto::Sm3(w.bytes());
}

Bytes ValiditySigningBytes(std::string_view chain_id, std::string_view uploader,
                           const v1::ValiditySubmission& submission) {
    codec::Writer w;
    w.Text("meterchain/validity/v1")
        .Text(chain_id)
        .Text(uploader)
        .Text(submission.batch_id())
        .U64(submission.rule_set_version())
        .U32(static_cast<uint32_t>(submission.records_size()));
    for (const auto& r : submission.records()) w.Digest(RecordSubmissionDigest(r));
    return std::move(w).Take();
}

void SignValiditySubmission(std::string_view chain_id, std::string_view uploader,
                            std::string_view org, const crypto::Signer& signer,
                            v1::ValiditySubmission* submission) {
    Bytes msg = ValiditySigningBytes(chain_id, uploader, *submission);
    auto* sig = submission->add_signatures();
    sig->set_org(std::string(org));
    sig->set_signature(ToString(signer.Sign(msg)));
}

std::string ValidityResultKey(const Hash256& tx_hash) { return kResultPrefix + ToHex(tx_hash); }

std::string_view ValidityContract::Name() const { return kValidityContract; }

Status ValidityContract::Call(const CallContext& ctx, std::string_view method, ByteView args,
                              StateView& state) {
    if (method != "Validity") {
        return InvalidArgument("validity has no method '" + std::string(method) + "'");
    }
    v1::ValiditySubmission submission;
    MC_RETURN_IF_ERROR(ParseProto(args, &submission, "Validity args"));
    if (submission.records().empty() ||
        static_cast<size_t>(submission.records_size()) > kMaxRecordsPerBatch) {
        return InvalidArgument("a record set holds 1.." + std::to_string(kMaxRecordsPerBatch) +
                               " records");
    }
    if (submission.batch_id().empty() || submission.batch_id().size() > kMaxBatchIdLength) {
        return InvalidArgument("batch_id must be 1.." + std::to_string(kMaxBatchIdLength) +
                               " bytes");
    }
    auto setup = LoadSetup(state, ctx.sender);
    if (!setup.ok()) return setup.status();
    const CallSetup& s = *setup;
    const std::string batch_key = BatchKey(s.uploader.name(), submission.batch_id());
    if (state.Get(batch_key)) {
        return {StatusCode::kAlreadyExists, "batch " + submission.batch_id() +
                                                " was already accepted for " + s.uploader.name()};
    }

    v1::ValidityResult result;
    result.set_batch_id(submission.batch_id());
    result.set_submitter(s.uploader.name());
    result.set_rule_set_version(s.rules->version());
    result.set_height(ctx.height);

    // Set-level checks: the validators must have checked against the current rules and signed.
    std::string set_rule;
    std::string set_error;
    if (submission.rule_set_version() != s.rules->version()) {
        set_rule = kCheckRuleSetVersion;
        set_error = "record set was checked against rule set " +
                    std::to_string(submission.rule_set_version()) + ", current is " +
                    std::to_string(s.rules->version());
    } else {
        set_error = CheckSignatures(
            s, ValiditySigningBytes(ctx.chain_id, s.uploader.name(), submission), submission);
        set_rule = kCheckSignatures;
    }

    StateRuleEnvironment env(state, s.uploader.name());
    env.SetBlockTime(ctx.block_timestamp_ms);
    uint32_t valid_count = 0;
    for (int i = 0; i < submission.records_size(); ++i) {
        const v1::RecordSubmission& sub = submission.records(i);
        v1::RecordResult* r = result.add_results();
        r->set_index(static_cast<uint32_t>(i));
        r->set_type(IsKnownRecordType(sub.type()) ? sub.type() : v1::RECORD_TYPE_UNSPECIFIED);
        if (!set_error.empty()) {
            r->set_rule_id(set_rule);
            r->set_reason("record set refused: " + set_error);
            continue;
        }
        Checked checked;
        std::unique_ptr<google::protobuf::Message> parsed;
        std::optional<RecordFields> fields;
        MC_RETURN_IF_ERROR(CheckRecord(s, ctx, sub, checked, parsed, fields));
        std::string state_key;
        if (checked.id) {
            r->set_record_key(ToHex(RecordKeyHash(*checked.id)));
            state_key = RecordStateKey(sub.type(), *checked.id);
        }
        bool replaces = false;  // a record with this id is stored already
        if (!checked.violation) {
            // Never let one organisation overwrite another's record.
            v1::StoredRecord existing;
            auto found = ReadProto(state, state_key, &existing);
            if (!found.ok()) return found.status();
            replaces = *found;
            if (*found && existing.owner() != s.uploader.name()) {
                checked.violation = RuleViolation{std::string(kCheckOwner),
                                                  "the record belongs to another organisation"};
            }
        }
        if (!checked.violation) {
            auto v = s.rules->Check(sub.type(), *checked.id, *fields, env);
            if (!v.ok()) return v.status();
            checked.violation = std::move(*v);
        }
        if (checked.violation) {
            r->set_rule_id(checked.violation->rule_id);
            r->set_reason(checked.violation->reason);
            continue;
        }
        r->set_valid(true);
        ++valid_count;
        env.Accept(sub.type(), *checked.id);

        v1::StoredRecord stored;
        stored.set_type(sub.type());
        stored.set_record_key(ToString(RecordKeyHash(*checked.id)));
        stored.set_owner(s.uploader.name());
        stored.set_storage_class(sub.storage_class());
        stored.set_digest(ToString(checked.digest));
        stored.set_sealed(sub.sealed());
        *stored.mutable_wrapped_keys() = sub.wrapped_keys();
        stored.set_height(ctx.height);
        stored.set_tx_hash(ToString(ToBytes(ctx.tx_hash)));
        stored.set_batch_id(submission.batch_id());
        WriteProto(state, state_key, stored);
        MC_RETURN_IF_ERROR(IndexStoredRecord(state, sub.type(), *fields, ctx.height, replaces));
        // Supervision counters and indexes are kept as records are written, so that the
        // regulator's statistics never scan records (contracts/supervision.h).
        MC_RETURN_IF_ERROR(IndexAcceptedRecord(ctx, sub.type(), *fields, state));
    }
    result.set_signature_error(set_error);
    result.set_valid_count(valid_count);
    result.set_valid(set_error.empty() &&
                     valid_count == static_cast<uint32_t>(submission.records_size()));
    WriteProto(state, ValidityResultKey(ctx.tx_hash), result);
    if (set_error.empty()) state.Put(batch_key, AsBytes(ToHex(ctx.tx_hash)));
    return Status::Ok();
}

Result<Bytes> ValidityContract::Query(std::string_view method, ByteView args,
                                      const StateView& state) const {
    v1::QueryArgs q;
    MC_RETURN_IF_ERROR(ParseProto(args, &q, "query args"));
    if (method == "Result") {
        auto hash = HashFromHex(q.id());
        if (!hash) return InvalidArgument("id must be a transaction hash (64 hex characters)");
        auto value = state.Get(ValidityResultKey(*hash));
        if (!value) return NotFound("no validity result for transaction " + q.id());
        return *value;
    }
    if (method == "Record") {
        if (!IsKnownRecordType(q.record_type())) return InvalidArgument("unknown record type");
        auto value = state.Get(RecordStateKey(q.record_type(), q.id()));
        if (!value) return NotFound("no such record");
        return *value;
    }
    return InvalidArgument("validity has no query '" + std::string(method) + "'");
}

}  // namespace meterchain::contracts
