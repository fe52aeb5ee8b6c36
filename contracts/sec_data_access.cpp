#include "contracts/sec_data_access.h"

#include <algorithm>

#include "contracts/common.h"
#include "contracts/governance.h"
#include "contracts/records.h"
#include "node/base/codec.h"
#include "node/crypto/sm.h"

namespace meterchain::contracts {

namespace {

const std::string kPrefix = std::string(kSecDataContract) + "/";
const std::string kPolicyPrefix = kPrefix + "policy/";
const std::string kCredPrefix = kPrefix + "cred/";
const std::string kOtkPrefix = kPrefix + "otk/";
const std::string kReqPrefix = kPrefix + "req/";
const std::string kPendingPrefix = kPrefix + "pending/";
const std::string kDeliveryPrefix = kPrefix + "delivery/";
constexpr size_t kMaxDeliverySize = 8u << 20;

std::string CredentialKey(std::string_view id) { return kCredPrefix + DigestHex(id); }
std::string PendingKey(std::string_view owner, std::string_view request_id) {
    return kPendingPrefix + std::string(owner) + "/" + std::string(request_id);
}

Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }

Status SetAccessPolicy(const v1::Organisation& org, ByteView args, StateView& state) {
    v1::AccessPolicy policy;
    MC_RETURN_IF_ERROR(ParseProto(args, &policy, "SetAccessPolicy args"));
    if (!policy.owner().empty() && policy.owner() != org.name()) {
        return PermissionDenied("an organisation sets only its own access policy");
    }
    policy.set_owner(org.name());
    if (!IsKnownRecordType(policy.record_type())) return InvalidArgument("unknown record type");
    for (const auto& role : policy.allowed_roles()) {
        if (!IsSimpleName(role)) return InvalidArgument("allowed_roles must be simple names");
    }
    WriteProto(state, AccessPolicyKey(org.name(), policy.record_type()), policy);
    return Status::Ok();
}

Status IssueCredential(const CallContext& ctx, const v1::Organisation& org, ByteView args,
                       StateView& state) {
    v1::AccessCredential cred;
    MC_RETURN_IF_ERROR(ParseProto(args, &cred, "IssueCredential args"));
    if (!cred.owner().empty() && cred.owner() != org.name()) {
        return PermissionDenied("a credential is issued by the data owner itself");
    }
    cred.set_owner(org.name());
    if (cred.credential_id().empty() || cred.credential_id().size() > kMaxIdLength) {
        return InvalidArgument("credential_id must be 1.." + std::to_string(kMaxIdLength) +
                               " bytes");
    }
    auto grantee = FindOrganisation(state, cred.grantee());
    if (!grantee.ok()) return grantee.status();
    if (!grantee->has_value()) return InvalidArgument("grantee is not a registered organisation");
    if (cred.record_types().empty()) return InvalidArgument("record_types is empty");
    for (int t : cred.record_types()) {
        if (!IsKnownRecordType(t)) return InvalidArgument("record_types: unknown record type");
    }
    if (cred.max_classification() == v1::CLASSIFICATION_UNSPECIFIED ||
        !v1::Classification_IsValid(cred.max_classification())) {
        return InvalidArgument("max_classification must be set");
    }
    if (cred.not_after_ms() <= ctx.block_timestamp_ms) {
        return InvalidArgument("not_after_ms is not in the future");
    }
    const std::string key = CredentialKey(cred.credential_id());
    if (state.Get(key)) return {StatusCode::kAlreadyExists, "credential id is already used"};
    v1::CredentialState cs;
    *cs.mutable_credential() = cred;
    cs.set_issued_height(ctx.height);
    WriteProto(state, key, cs);
    return Status::Ok();
}

Status RevokeCredential(const CallContext& ctx, const v1::Organisation& org, ByteView args,
                        StateView& state) {
    v1::RevokeCredentialArgs revoke;
    MC_RETURN_IF_ERROR(ParseProto(args, &revoke, "RevokeCredential args"));
    v1::CredentialState cs;
    const std::string key = CredentialKey(revoke.credential_id());
    auto found = ReadProto(state, key, &cs);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("no such credential");
    if (cs.credential().owner() != org.name()) {
        return PermissionDenied("only the issuer revokes a credential");
    }
    if (cs.revoked()) return FailedPrecondition("credential is already revoked");
    cs.set_revoked(true);
    cs.set_revoked_height(ctx.height);
    WriteProto(state, key, cs);
    return Status::Ok();
}

// Fills decision.granted / reason_code / reason. Errors only for unreadable state.
Status Decide(const CallContext& ctx, const v1::Organisation& requester,
              const v1::AccessRequest& req, v1::AccessDecision& d, StateView& state) {
    auto refuse = [&](std::string_view code, std::string reason) {
        d.set_granted(false);
        d.set_reason_code(std::string(code));
        d.set_reason(std::move(reason));
        return Status::Ok();
    };
    // The one-time key is consumed by every request that names it, granted or not.
    if (req.one_time_public_key().size() != 65 ||
        !crypto::Sm2PublicKey::FromRaw(AsBytes(req.one_time_public_key())).ok()) {
        return refuse(kRefuseOneTimeKey, "one_time_public_key is not a raw SM2 public key");
    }
    const std::string otk_key = kOtkPrefix + ToHex(AsBytes(req.one_time_public_key()));
    if (state.Get(otk_key)) {
        return refuse(kRefuseOneTimeKeyReused, "the one-time public key was already used");
    }
    state.Put(otk_key, AsBytes(d.request_id()));

    if (!IsKnownRecordType(req.record_type())) return refuse(kRefuseNoData, "unknown record type");
    v1::StoredRecord record;
    auto found = ReadProto(state, RecordStateKey(req.record_type(), req.record_id()), &record);
    if (!found.ok()) return found.status();
    if (!*found) return refuse(kRefuseNoData, "no such record on chain");
    d.set_owner(record.owner());
    d.set_record_digest(record.digest());

    v1::CredentialState cs;
    found = ReadProto(state, CredentialKey(req.credential_id()), &cs);
    if (!found.ok()) return found.status();
    if (!*found) return refuse(kRefuseNoCredential, "no such credential");
    const v1::AccessCredential& cred = cs.credential();
    if (cred.owner() != record.owner()) {
        return refuse(kRefuseWrongIssuer, "the credential was not issued by the data owner");
    }
    if (cred.grantee() != requester.name()) {
        return refuse(kRefuseWrongRequester, "the credential was issued to another organisation");
    }
    if (cs.revoked()) return refuse(kRefuseRevoked, "the credential was revoked");
    if (ctx.block_timestamp_ms >= cred.not_after_ms()) {
        return refuse(kRefuseExpired, "the credential expired");
    }
    bool type_in_scope = std::find(cred.record_types().begin(), cred.record_types().end(),
                                   req.record_type()) != cred.record_types().end();
    if (!type_in_scope ||
        req.record_id().compare(0, cred.record_id_prefix().size(), cred.record_id_prefix()) != 0) {
        return refuse(kRefuseScope, "the record is outside the credential's scope");
    }

    auto policy = FindRecordPolicy(state, req.record_type());
    if (!policy.ok()) return policy.status();
    if (!policy->has_value())
        return refuse(kRefuseClassification, "the record type is unclassified");
    v1::Classification level = (*policy)->classification();
    if (level == v1::CLASS_SECRET) {
        return refuse(kRefuseClassification, "secret data is never released");
    }
    if (level > cred.max_classification()) {
        return refuse(kRefuseClassification, "the data's classification exceeds the credential's");
    }

    v1::AccessPolicy owner_policy;
    found = ReadProto(state, AccessPolicyKey(record.owner(), req.record_type()), &owner_policy);
    if (!found.ok()) return found.status();
    if (!*found) return refuse(kRefusePolicy, "the owner has no access policy for this type");
    bool role_allowed = false;
    for (const auto& role : owner_policy.allowed_roles()) role_allowed |= HasRole(requester, role);
    if (!role_allowed)
        return refuse(kRefusePolicy, "the owner's policy does not allow the requester's roles");

    d.set_granted(true);
    return Status::Ok();
}

Status RequestAccess(const CallContext& ctx, const v1::Organisation& requester, ByteView args,
                     StateView& state) {
    v1::AccessRequest req;
    MC_RETURN_IF_ERROR(ParseProto(args, &req, "SecDataAccess args"));
    v1::AccessDecision d;
    d.set_request_id(ToHex(ctx.tx_hash));
    d.set_requester(requester.name());
    d.set_record_type(IsKnownRecordType(req.record_type()) ? req.record_type()
                                                           : v1::RECORD_TYPE_UNSPECIFIED);
    d.set_record_id(req.record_id().substr(0, kMaxIdLength));
    d.set_one_time_public_key(req.one_time_public_key().substr(0, 65));
    d.set_height(ctx.height);
    d.set_decided_at_ms(ctx.block_timestamp_ms);
    if (state.Get(kReqPrefix + d.request_id())) {
        return {StatusCode::kAlreadyExists, "request " + d.request_id() + " exists"};
    }
    MC_RETURN_IF_ERROR(Decide(ctx, requester, req, d, state));
    WriteProto(state, kReqPrefix + d.request_id(), d);
    if (d.granted()) state.Put(PendingKey(d.owner(), d.request_id()), Bytes{});
    return Status::Ok();
}

Status Deliver(const v1::Organisation& org, ByteView args, StateView& state) {
    v1::DeliverArgs deliver;
    MC_RETURN_IF_ERROR(ParseProto(args, &deliver, "Deliver args"));
    if (!IsSimpleName(deliver.request_id())) return NotFound("no such request");
    v1::AccessDecision d;
    auto found = ReadProto(state, kReqPrefix + deliver.request_id(), &d);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("no request " + deliver.request_id());
    if (!d.granted()) return FailedPrecondition("the request was refused");
    if (d.owner() != org.name()) return PermissionDenied("only the data owner delivers");
    if (d.delivered()) return FailedPrecondition("the request was already delivered");
    const auto& e = deliver.delivery();
    if (e.wrapped_key().empty() || e.sealed().empty() ||
        e.wrapped_key().size() + e.sealed().size() > kMaxDeliverySize) {
        return InvalidArgument("delivery must carry a wrapped key and ciphertext");
    }
    d.set_delivered(true);
    WriteProto(state, kReqPrefix + d.request_id(), d);
    WriteProto(state, kDeliveryPrefix + d.request_id(), e);
    state.Delete(PendingKey(d.owner(), d.request_id()));
    return Status::Ok();
}

}  // namespace

std::string AccessPolicyKey(std::string_view owner, RecordType type) {
    return kPolicyPrefix + std::string(owner) + "/" + TypeKey(type);
}

Bytes DeliveryAad(std::string_view request_id, ByteView record_digest) {
    codec::Writer w;
    w.Text("meterchain/delivery/v1").Text(request_id).Blob(record_digest);
    return std::move(w).Take();
}

std::string_view SecDataAccessContract::Name() const { return kSecDataContract; }

Status SecDataAccessContract::Call(const CallContext& ctx, std::string_view method, ByteView args,
                                   StateView& state) {
    auto org = OrganisationOfSender(state, ctx.sender);
    if (!org.ok()) return org.status();
    if (method == "SecDataAccess") return RequestAccess(ctx, *org, args, state);
    if (method == "Deliver") return Deliver(*org, args, state);
    if (method == "IssueCredential") return IssueCredential(ctx, *org, args, state);
    if (method == "RevokeCredential") return RevokeCredential(ctx, *org, args, state);
    if (method == "SetAccessPolicy") return SetAccessPolicy(*org, args, state);
    return InvalidArgument("secdata has no method '" + std::string(method) + "'");
}

Result<Bytes> SecDataAccessContract::Query(std::string_view method, ByteView args,
                                           const StateView& state) const {
    v1::QueryArgs q;
    MC_RETURN_IF_ERROR(ParseProto(args, &q, "query args"));
    if (method == "Decision" || method == "Delivery") {
        if (!IsSimpleName(q.id())) return NotFound("no such request");
        auto value = state.Get((method == "Decision" ? kReqPrefix : kDeliveryPrefix) + q.id());
        if (!value) return NotFound(std::string(method) + " not found for request " + q.id());
        return *value;
    }
    if (method == "PendingGrants") {
        if (!IsSimpleName(q.id())) return InvalidArgument("id must be an organisation name");
        v1::PendingGrants out;
        std::vector<std::string> ids;
        state.Scan(kPendingPrefix + q.id() + "/", [&](std::string_view key, ByteView) {
            ids.emplace_back(key.substr(key.rfind('/') + 1));
            return true;
        });
        for (const auto& id : ids) {
            auto found = ReadProto(state, kReqPrefix + id, out.add_grants());
            if (!found.ok()) return found.status();
            if (!*found) return Corruption("pending grant " + id + " has no decision");
        }
        return SerializeProto(out);
    }
    if (method == "Credential") {
        auto value = state.Get(CredentialKey(q.id()));
        if (!value) return NotFound("no such credential");
        return *value;
    }
    return InvalidArgument("secdata has no query '" + std::string(method) + "'");
}

}  // namespace meterchain::contracts
