#include "contracts/anchor.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "contracts/common.h"
#include "node/chain/light_client.h"
#include "node/chain/validators.h"
#include "node/crypto/sm.h"

namespace meterchain::contracts {

namespace {

const std::string kPrefix = std::string(kAnchorContract) + "/";
const std::string kChainPrefix = kPrefix + "chain/";
const std::string kHeaderPrefix = kPrefix + "header/";
const std::string kRangePrefix = kPrefix + "range/";
const std::string kEvidencePrefix = kPrefix + "evidence/";

constexpr uint32_t kDefaultListLimit = 1000;
constexpr uint32_t kMaxListLimit = 10000;

std::string Height20(uint64_t h) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(h));
    return buf;
}
std::string ChainKey(std::string_view id) { return kChainPrefix + std::string(id); }
std::string HeaderKey(std::string_view id, uint64_t h) {
    return kHeaderPrefix + std::string(id) + "/" + Height20(h);
}
std::string RangeKey(std::string_view id, uint64_t to) {
    return kRangePrefix + std::string(id) + "/" + Height20(to);
}
std::string EvidenceKey(std::string_view id) { return kEvidencePrefix + std::string(id); }

Status Refuse(StatusCode code, std::string_view reason, const std::string& detail) {
    return {code, std::string(reason) + ": " + detail};
}

chain::ValidatorSet ToValidatorSet(const v1::RegisteredChain& chain) {
    std::vector<chain::Validator> validators;
    for (const auto& v : chain.validators()) {
        chain::Validator out;
        out.name = v.name();
        out.public_key = FromHex(v.public_key()).value_or(Bytes{});
        validators.push_back(std::move(out));
    }
    return chain::ValidatorSet(std::move(validators));
}

chain::CommitCertificate ToCertificate(const v1::CommitCertificate& c) {
    chain::CommitCertificate out;
    out.height = c.height();
    out.view = c.view();
    if (c.block_hash().size() == out.block_hash.size()) {
        std::copy(c.block_hash().begin(), c.block_hash().end(), out.block_hash.begin());
    } else {
        out.block_hash = Hash256{};
    }
    for (const auto& s : c.signatures()) {
        out.signatures.push_back({s.validator(), Bytes(s.signature().begin(), s.signature().end())});
    }
    return out;
}

std::string_view ReasonOf(chain::CertificateFault fault) {
    switch (fault) {
        case chain::CertificateFault::kMismatch: return kAnchorCertificateMismatch;
        case chain::CertificateFault::kUnregisteredSigner: return kAnchorUnregisteredSigner;
        case chain::CertificateFault::kDuplicateSigner: return kAnchorDuplicateSigner;
        case chain::CertificateFault::kShortQuorum: return kAnchorShort;
        case chain::CertificateFault::kForgedSignature:
        case chain::CertificateFault::kNone: break;
    }
    return kAnchorForged;
}

Result<std::optional<v1::AnchoredHeaderEntry>> FindHeader(const StateView& state,
                                                          std::string_view chain_id, uint64_t h) {
    v1::AnchoredHeaderEntry entry;
    auto found = ReadProto(state, HeaderKey(chain_id, h), &entry);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<v1::AnchoredHeaderEntry>();
    return std::optional(std::move(entry));
}

std::string Range(uint64_t from, uint64_t to) {
    return std::to_string(from) + ".." + std::to_string(to);
}

}  // namespace

Status ApplyRegisterChain(StateView& state, const v1::RegisteredChain& chain) {
    const std::string where = "register_chain " + chain.chain_id();
    if (!IsSimpleName(chain.chain_id())) {
        return InvalidArgument("register_chain.chain_id must be a simple name");
    }
    if (chain.validators().empty()) return InvalidArgument(where + ": validators is empty");
    std::set<std::string> names;
    std::set<std::string> keys;
    v1::RegisteredChain stored = chain;
    for (int i = 0; i < stored.validators_size(); ++i) {
        auto* v = stored.mutable_validators(i);
        const std::string at = where + ": validators[" + std::to_string(i) + "]";
        if (!IsSimpleName(v->name()) || !names.insert(v->name()).second) {
            return InvalidArgument(at + ": name must be a distinct simple name");
        }
        auto raw = FromHex(v->public_key());
        if (!raw || raw->size() != 65 || !crypto::Sm2PublicKey::FromRaw(*raw).ok()) {
            return InvalidArgument(at + " (" + v->name() +
                                   "): public_key must be an SM2 public key in 130 hex characters");
        }
        v->set_public_key(ToHex(*raw));
        if (!keys.insert(v->public_key()).second) {
            return InvalidArgument(at + " (" + v->name() + "): public_key registered twice");
        }
    }
    if (!stored.start_prev_hash().empty() && stored.start_prev_hash().size() != 32) {
        return InvalidArgument(where + ": start_prev_hash must be 32 bytes or empty");
    }
    if (stored.start_height() == 0) stored.set_start_height(1);

    auto existing = FindAnchoredChain(state, chain.chain_id());
    if (!existing.ok()) return existing.status();
    v1::ChainAnchorStatus status;
    if (existing->has_value()) {
        // A new validator set; the anchoring progress (and any stop) stays.
        status = std::move(**existing);
        stored.set_start_height(status.chain().start_height());
        stored.set_start_prev_hash(status.chain().start_prev_hash());
    } else {
        status.set_last_height(stored.start_height() - 1);
        status.set_last_hash(stored.start_prev_hash());
    }
    *status.mutable_chain() = std::move(stored);
    WriteProto(state, ChainKey(chain.chain_id()), status);
    return Status::Ok();
}

Result<std::optional<v1::ChainAnchorStatus>> FindAnchoredChain(const StateView& state,
                                                               std::string_view chain_id) {
    if (!IsSimpleName(chain_id)) return std::optional<v1::ChainAnchorStatus>();
    v1::ChainAnchorStatus status;
    auto found = ReadProto(state, ChainKey(chain_id), &status);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<v1::ChainAnchorStatus>();
    return std::optional(std::move(status));
}

std::string_view AnchorContract::Name() const { return kAnchorContract; }

Status AnchorContract::Call(const CallContext& ctx, std::string_view method, ByteView args,
                            StateView& state) {
    if (method == "Anchor") return Anchor(ctx, args, state);
    return InvalidArgument("anchor has no method '" + std::string(method) + "'");
}

Status AnchorContract::Anchor(const CallContext& ctx, ByteView args, StateView& state) {
    v1::AnchorArgs a;
    if (!ParseProto(args, &a, "Anchor args").ok()) {
        return Refuse(StatusCode::kInvalidArgument, kAnchorMalformed, "Anchor args do not parse");
    }
    const std::string& id = a.source_chain_id();
    if (id == ctx.chain_id) {
        return Refuse(StatusCode::kInvalidArgument, kAnchorWrongChainId,
                      "a chain cannot anchor itself");
    }
    auto found = FindAnchoredChain(state, id);
    if (!found.ok()) return found.status();
    if (!found->has_value()) {
        return Refuse(StatusCode::kNotFound, kAnchorUnregisteredChain,
                      "chain '" + id + "' is not registered on " + ctx.chain_id);
    }
    v1::ChainAnchorStatus status = std::move(**found);
    if (status.stopped()) {
        return Refuse(StatusCode::kFailedPrecondition, kAnchorStopped,
                      "anchoring of '" + id + "' is stopped: " + status.stop_reason());
    }

    // The range must be well formed before anything about it is believed.
    if (a.headers().empty() || static_cast<size_t>(a.headers_size()) > kMaxAnchorHeaders) {
        return Refuse(StatusCode::kInvalidArgument, kAnchorMalformed,
                      "an anchor carries 1.." + std::to_string(kMaxAnchorHeaders) + " headers");
    }
    std::vector<Bytes> encoded;
    for (const auto& h : a.headers()) encoded.emplace_back(h.begin(), h.end());
    auto headers = chain::DecodeHeaders(encoded);
    if (!headers.ok()) {
        return Refuse(StatusCode::kInvalidArgument, kAnchorMalformed, headers.status().message());
    }
    for (const auto& h : *headers) {
        if (h.chain_id != id) {
            return Refuse(StatusCode::kInvalidArgument, kAnchorWrongChainId,
                          "header at height " + std::to_string(h.height) + " names chain '" +
                              h.chain_id + "', the anchor names '" + id + "'");
        }
    }
    const uint64_t from = headers->front().height;
    const uint64_t to = headers->back().height;
    if (from != a.from_height() || to != a.to_height()) {
        return Refuse(StatusCode::kInvalidArgument, kAnchorMalformed,
                      "range " + Range(a.from_height(), a.to_height()) +
                          " does not match its headers " + Range(from, to));
    }
    Status linked = chain::CheckHeaderChain(*headers, id);
    if (!linked.ok()) {
        return Refuse(StatusCode::kInvalidArgument, kAnchorBrokenHeaders, linked.message());
    }
    const Hash256 digest = chain::HeaderRangeDigest(id, *headers);
    if (a.range_digest() != std::string(digest.begin(), digest.end())) {
        return Refuse(StatusCode::kInvalidArgument, kAnchorDigestMismatch,
                      "range_digest is not the digest of the headers " + Range(from, to));
    }
    chain::CertificateFault fault = chain::CertificateFault::kNone;
    Status certified = chain::VerifyHeaderCertificate(
        headers->back(), ToCertificate(a.certificate()), ToValidatorSet(status.chain()),
        m_verifier, &fault);
    if (!certified.ok()) {
        return Refuse(StatusCode::kUnauthenticated, ReasonOf(fault), certified.message());
    }

    // The range is certified. Where does it stand against what is anchored already?
    const uint64_t last = status.last_height();
    const Hash256 prev = headers->front().prev_hash;
    std::optional<uint64_t> conflict;  // a height where the range and the anchored chain differ
    Hash256 conflicting_hash{};
    for (uint64_t h = from; h <= std::min(to, last); ++h) {
        auto stored = FindHeader(state, id, h);
        if (!stored.ok()) return stored.status();
        if (!stored->has_value()) continue;  // below start_height
        const Bytes& ours = encoded[h - from];
        if (ToString(ours) != (*stored)->header()) {
            conflict = h;
            conflicting_hash = (*headers)[h - from].Hash();
            break;
        }
    }
    if (!conflict && from == last + 1 && !status.last_hash().empty() &&
        status.last_hash() != std::string(prev.begin(), prev.end())) {
        conflict = last;  // the range descends from another block at height `last`
        conflicting_hash = prev;
    }
    if (conflict) {
        v1::EquivocationEvidence evidence;
        evidence.set_chain_id(id);
        evidence.set_height(*conflict);
        auto stored = FindHeader(state, id, *conflict);
        if (!stored.ok()) return stored.status();
        if (stored->has_value()) evidence.set_anchored_header((*stored)->header());
        evidence.set_conflicting_hash(ToString(conflicting_hash));
        *evidence.mutable_conflicting_anchor() = a;
        evidence.set_detected_height(ctx.height);
        evidence.set_tx_hash(ToString(ctx.tx_hash));
        evidence.set_description("two different blocks of '" + id + "' certified at height " +
                                 std::to_string(*conflict));
        WriteProto(state, EvidenceKey(id), evidence);
        status.set_stopped(true);
        status.set_stop_reason("equivocation at height " + std::to_string(*conflict) +
                               " (evidence in anchor/evidence/" + id + ", upper height " +
                               std::to_string(ctx.height) + ")");
        WriteProto(state, ChainKey(id), status);
        return Status::Ok();
    }
    if (to <= last) {
        return Refuse(StatusCode::kAlreadyExists, kAnchorDuplicate,
                      "heights " + Range(from, to) + " of '" + id + "' are already anchored");
    }
    if (from <= last) {
        return Refuse(StatusCode::kFailedPrecondition, kAnchorOverlap,
                      "heights " + Range(from, last) + " of '" + id +
                          "' are already anchored; the next anchor starts at " +
                          std::to_string(last + 1));
    }
    if (from > last + 1) {
        return Refuse(StatusCode::kFailedPrecondition, kAnchorGap,
                      "'" + id + "' is anchored up to height " + std::to_string(last) +
                          "; the range starts at " + std::to_string(from));
    }

    for (uint64_t h = from; h <= to; ++h) {
        v1::AnchoredHeaderEntry entry;
        entry.set_header(ToString(encoded[h - from]));
        entry.set_anchor_to_height(to);
        WriteProto(state, HeaderKey(id, h), entry);
    }
    v1::AnchorRecord record;
    record.set_source_chain_id(id);
    record.set_from_height(from);
    record.set_to_height(to);
    record.set_last_header(ToString(encoded.back()));
    record.set_range_digest(a.range_digest());
    *record.mutable_certificate() = a.certificate();
    record.set_anchored_height(ctx.height);
    record.set_anchored_time_ms(ctx.block_timestamp_ms);
    record.set_tx_hash(ToString(ctx.tx_hash));
    record.set_relay(ToString(ctx.sender));
    WriteProto(state, RangeKey(id, to), record);

    const Hash256 last_hash = headers->back().Hash();
    status.set_last_height(to);
    status.set_last_hash(ToString(last_hash));
    status.set_last_anchor_time_ms(ctx.block_timestamp_ms);
    status.set_last_header_time_ms(headers->back().timestamp_ms);
    status.set_anchors(status.anchors() + 1);
    status.set_reported_tip(std::max({status.reported_tip(), a.source_tip(), to}));
    status.set_lag_blocks(status.reported_tip() - to);
    status.set_lag_ms(ctx.block_timestamp_ms > headers->back().timestamp_ms
                          ? ctx.block_timestamp_ms - headers->back().timestamp_ms
                          : 0);
    WriteProto(state, ChainKey(id), status);
    return Status::Ok();
}

Result<Bytes> AnchorContract::Query(std::string_view method, ByteView args,
                                    const StateView& state) const {
    v1::AnchorQuery q;
    MC_RETURN_IF_ERROR(ParseProto(args, &q, "anchor query"));
    if (method == "Chains") {
        v1::ChainAnchorStatusList list;
        Status error;
        state.Scan(kChainPrefix, [&](std::string_view key, ByteView value) {
            v1::ChainAnchorStatus s;
            if (!s.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                error = Corruption("state value at '" + std::string(key) + "' does not parse");
                return false;
            }
            *list.add_chains() = std::move(s);
            return true;
        });
        if (!error.ok()) return error;
        return SerializeProto(list);
    }
    auto chain = FindAnchoredChain(state, q.chain_id());
    if (!chain.ok()) return chain.status();
    if (!chain->has_value()) {
        return Refuse(StatusCode::kNotFound, kAnchorUnregisteredChain,
                      "chain '" + q.chain_id() + "' is not registered");
    }
    if (method == "Chain") return SerializeProto(**chain);
    if (method == "Header") {
        auto entry = FindHeader(state, q.chain_id(), q.height());
        if (!entry.ok()) return entry.status();
        if (!entry->has_value()) {
            return NotFound("height " + std::to_string(q.height()) + " of '" + q.chain_id() +
                            "' is not anchored");
        }
        v1::AnchoredHeader out;
        out.set_chain_id(q.chain_id());
        out.set_height(q.height());
        out.set_header((*entry)->header());
        auto found = ReadProto(state, RangeKey(q.chain_id(), (*entry)->anchor_to_height()),
                               out.mutable_anchor());
        if (!found.ok()) return found.status();
        if (!*found) return Corruption("anchored height without its anchor record");
        return SerializeProto(out);
    }
    if (method == "Anchors") {
        const uint32_t limit =
            q.limit() == 0 ? kDefaultListLimit : std::min(q.limit(), kMaxListLimit);
        const std::string prefix = kRangePrefix + q.chain_id() + "/";
        const std::string first = RangeKey(q.chain_id(), q.height());
        v1::AnchorRecordList list;
        Status error;
        state.Scan(prefix, [&](std::string_view key, ByteView value) {
            if (key < first) return true;
            v1::AnchorRecord r;
            if (!r.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                error = Corruption("state value at '" + std::string(key) + "' does not parse");
                return false;
            }
            *list.add_anchors() = std::move(r);
            return static_cast<uint32_t>(list.anchors_size()) < limit;
        });
        if (!error.ok()) return error;
        return SerializeProto(list);
    }
    if (method == "Evidence") {
        v1::EquivocationEvidence evidence;
        auto found = ReadProto(state, EvidenceKey(q.chain_id()), &evidence);
        if (!found.ok()) return found.status();
        if (!*found) return NotFound("no equivocation evidence for '" + q.chain_id() + "'");
        return SerializeProto(evidence);
    }
    return InvalidArgument("anchor has no query '" + std::string(method) + "'");
}

}  // namespace meterchain::contracts
