#include "contracts/supervision.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "contracts/common.h"
#include "contracts/governance.h"
#include "contracts/sampling.h"
#include "node/base/codec.h"
#include "node/crypto/sm.h"

namespace meterchain::contracts {

namespace {

const std::string kPrefix = std::string(kSupervisionContract) + "/";
constexpr std::string_view kQualified = "合格";
constexpr std::string_view kUnqualified = "不合格";
constexpr std::string_view kFullInspection = "全检";
constexpr std::string_view kSamplingInspection = "抽检";
constexpr std::string_view kInService = "运行";
constexpr std::string_view kModelOutOfTolerance = "超差";
constexpr size_t kTopItems = 10;
constexpr uint32_t kYearsInServiceLimit = 8;

// The conclusion fields of a verification result (Appendix B) compared item by item.
const std::vector<std::string>& ConclusionFields() {
    static const std::vector<std::string> kFields = {
        "VOLT_CONC_CODE",     "BASIC_ERROR_CONC_CODE", "INTUIT_CONC_CODE",
        "CONST_CONC_CODE",    "DAYERR_CONC_CODE",      "DEVIATION_MET_CONC",
        "CREEPING_CONC_CODE", "STARTING_CONC_CODE",    "CLOCK_VALUE_CONC_CODE"};
    return kFields;
}

std::string MeterKey(std::string_view bar_code) { return DigestHex(bar_code); }
std::string MeterIndexKey(std::string_view meter_key) {
    return kPrefix + "meter/" + std::string(meter_key);
}
std::string BatchKey(std::string_view batch_no) { return kPrefix + "batch/" + DigestHex(batch_no); }
std::string MemberPrefix(std::string_view batch_no) {
    return kPrefix + "member/" + DigestHex(batch_no) + "/";
}
std::string Seq(uint64_t n, int width) {
    std::string s = std::to_string(n);
    if (static_cast<int>(s.size()) < width) s.insert(0, static_cast<size_t>(width) - s.size(), '0');
    return s;
}
std::string MemberKey(std::string_view batch_no, uint64_t seq) {
    return MemberPrefix(batch_no) + Seq(seq, 10);
}
std::string ManufacturerKey(std::string_view m) { return kPrefix + "mfr/" + DigestHex(m); }
std::string StationKey(std::string_view s) { return kPrefix + "station/" + DigestHex(s); }
// Per supply station, meters in service and out of tolerance by install year, next to the
// station's QualityStats so that one scan of the stations reads both:
//   supervision/station/<hex>/hist = { U32(year) U64(in service) U64(out of tolerance) }*,
// ascending by year (codec of docs/ENCODING.md).
constexpr std::string_view kHistogramSuffix = "/hist";
std::string StationHistogramKey(std::string_view s) {
    return kPrefix + "station/" + DigestHex(s) + std::string(kHistogramSuffix);
}
struct YearCount {
    uint32_t year = 0;
    uint64_t in_service = 0;
    uint64_t out_of_tolerance = 0;
};
std::vector<YearCount> DecodeHistogram(ByteView value) {
    std::vector<YearCount> out;
    codec::Reader r(value);
    YearCount y;
    while (r.U32(y.year) && r.U64(y.in_service) && r.U64(y.out_of_tolerance)) out.push_back(y);
    return out;
}
void AddToHistogram(StateView& state, std::string_view station, uint32_t year,
                    uint64_t in_service, uint64_t out_of_tolerance) {
    const std::string key = StationHistogramKey(station);
    auto stored = state.Get(key);
    std::vector<YearCount> years = stored ? DecodeHistogram(*stored) : std::vector<YearCount>();
    auto it = std::lower_bound(years.begin(), years.end(), year,
                               [](const YearCount& y, uint32_t v) { return y.year < v; });
    if (it == years.end() || it->year != year) it = years.insert(it, YearCount{year, 0, 0});
    it->in_service += in_service;
    it->out_of_tolerance += out_of_tolerance;
    codec::Writer w;
    for (const auto& y : years) w.U32(y.year).U64(y.in_service).U64(y.out_of_tolerance);
    state.Put(key, w.bytes());
}
std::string RunKey(std::string_view run) { return kPrefix + "run/" + DigestHex(run); }
std::string ItemKey(std::string_view field) { return kPrefix + "item/" + std::string(field); }
std::string PlanKey(std::string_view id) { return kPrefix + "plan/" + DigestHex(id); }
std::string SampleKey(std::string_view id) { return kPrefix + "sample/" + DigestHex(id); }
std::string RecheckKey(std::string_view id) { return kPrefix + "recheck/" + DigestHex(id); }
std::string SwitchKey(std::string_view series) { return kPrefix + "switch/" + DigestHex(series); }
std::string AlertPrefix(std::string_view org) { return kPrefix + "alert/" + std::string(org) + "/"; }
const std::string kOverviewKey = kPrefix + "overview";
const std::string kReplacementKey = kPrefix + "replacement";
const std::string kLastTimeKey = kPrefix + "last-block-ms";
const std::string kRunPrefix = kPrefix + "run/";
const std::string kManufacturerPrefix = kPrefix + "mfr/";
const std::string kStationPrefix = kPrefix + "station/";
const std::string kItemPrefix = kPrefix + "item/";

uint64_t ReadU64(const StateView& state, std::string_view key) {
    auto v = state.Get(key);
    return v && v->size() >= 8 ? codec::DecodeU64(*v) : 0;
}
void WriteU64(StateView& state, std::string_view key, uint64_t value) {
    state.Put(key, codec::EncodeU64(value));
}
void AddU64(StateView& state, std::string_view key, uint64_t delta) {
    WriteU64(state, key, ReadU64(state, key) + delta);
}

uint32_t Permille(uint64_t part, uint64_t whole) {
    return whole == 0 ? 0 : static_cast<uint32_t>(part * 1000 / whole);
}

void Count(v1::PassCount* c, bool qualified) {
    c->set_total(c->total() + 1);
    if (qualified) c->set_qualified(c->qualified() + 1);
    c->set_pass_rate_permille(Permille(c->qualified(), c->total()));
}

// Reads a proto value that may be absent (then `out` stays default).
template <typename M>
Status Load(const StateView& state, std::string_view key, M* out) {
    auto found = ReadProto(state, key, out);
    return found.ok() ? Status::Ok() : found.status();
}

std::string FieldOr(const RecordFields& fields, std::string_view name) {
    const std::string* v = fields.Find(name);
    return v == nullptr ? std::string() : *v;
}

uint32_t YearOf(std::string_view date) {
    if (date.size() < 4) return 0;
    uint32_t y = 0;
    for (size_t i = 0; i < 4; ++i) {
        if (date[i] < '0' || date[i] > '9') return 0;
        y = y * 10 + static_cast<uint32_t>(date[i] - '0');
    }
    return y;
}

// Year (UTC+8, the specification's local time) of a block timestamp.
uint32_t YearOfMs(uint64_t ms) {
    int64_t days = static_cast<int64_t>((ms + 8ull * 3600 * 1000) / 86400000ull);
    // civil_from_days (H. Hinnant's algorithm), integer only
    days += 719468;
    int64_t era = days / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return static_cast<uint32_t>(m <= 2 ? y + 1 : y);
}

Status IndexArrivalBatch(const RecordFields& f, StateView& state) {
    std::string no = FieldOr(f, "arrivalBatchNo");
    v1::BatchStats batch;
    MC_RETURN_IF_ERROR(Load(state, BatchKey(no), &batch));
    if (batch.arrival_date().empty()) {
        v1::VerificationOverview overview;
        MC_RETURN_IF_ERROR(Load(state, kOverviewKey, &overview));
        overview.set_arrival_batches(overview.arrival_batches() + 1);
        WriteProto(state, kOverviewKey, overview);
    }
    batch.set_arrival_batch_no(no);
    batch.set_manufacturer(FieldOr(f, "manufacturer"));
    batch.set_arrival_date(FieldOr(f, "arrivalDate"));
    WriteProto(state, BatchKey(no), batch);
    return Status::Ok();
}

Status IndexMeterAsset(const RecordFields& f, StateView& state) {
    std::string key = MeterIndexKey(MeterKey(FieldOr(f, "barCode")));
    v1::MeterIndex meter;
    MC_RETURN_IF_ERROR(Load(state, key, &meter));
    if (meter.has_asset()) return Status::Ok();  // counted once per meter
    meter.set_has_asset(true);
    meter.set_arrival_batch_no(FieldOr(f, "arrivalBatchNo"));
    meter.set_manufacturer(FieldOr(f, "manufacturer"));
    meter.set_supply_station(FieldOr(f, "supplyStation"));
    meter.set_install_year(YearOf(FieldOr(f, "installDate")));
    meter.set_in_service(FieldOr(f, "state") == kInService);
    WriteProto(state, key, meter);

    v1::BatchStats batch;
    MC_RETURN_IF_ERROR(Load(state, BatchKey(meter.arrival_batch_no()), &batch));
    batch.set_arrival_batch_no(meter.arrival_batch_no());
    batch.set_arrivals(batch.arrivals() + 1);
    WriteProto(state, BatchKey(meter.arrival_batch_no()), batch);

    if (!meter.manufacturer().empty()) {
        v1::QualityStats m;
        MC_RETURN_IF_ERROR(Load(state, ManufacturerKey(meter.manufacturer()), &m));
        m.set_key(meter.manufacturer());
        m.set_arrivals(m.arrivals() + 1);
        if (meter.in_service()) m.set_in_service(m.in_service() + 1);
        WriteProto(state, ManufacturerKey(meter.manufacturer()), m);
    }
    if (!meter.supply_station().empty()) {
        v1::QualityStats s;
        MC_RETURN_IF_ERROR(Load(state, StationKey(meter.supply_station()), &s));
        s.set_key(meter.supply_station());
        s.set_arrivals(s.arrivals() + 1);
        if (meter.in_service()) {
            s.set_in_service(s.in_service() + 1);
            AddToHistogram(state, meter.supply_station(), meter.install_year(), 1, 0);
        }
        WriteProto(state, StationKey(meter.supply_station()), s);
    }
    return Status::Ok();
}

Status IndexVerification(const RecordFields& f, StateView& state) {
    std::string meter_key = MeterKey(FieldOr(f, "barCode"));
    std::string key = MeterIndexKey(meter_key);
    v1::MeterIndex meter;
    MC_RETURN_IF_ERROR(Load(state, key, &meter));
    if (meter.verified()) return Status::Ok();  // the first verification is the one supervised
    meter.set_verified(true);
    meter.set_inst_id(FieldOr(f, "instId"));
    meter.set_veri_result(FieldOr(f, "veriResult"));
    for (const auto& name : ConclusionFields()) {
        const std::string* v = f.Find(name);
        if (v == nullptr) continue;
        auto* c = meter.add_conclusions();
        c->set_name(name);
        c->set_value(*v);
        if (*v == kUnqualified) AddU64(state, ItemKey(name), 1);
    }
    WriteProto(state, key, meter);

    bool qualified = meter.veri_result() == kQualified;
    std::string kind = FieldOr(f, "inspectionKind");
    v1::VerificationOverview overview;
    MC_RETURN_IF_ERROR(Load(state, kOverviewKey, &overview));
    Count(overview.mutable_all(), qualified);
    if (kind == kFullInspection) Count(overview.mutable_full_inspection(), qualified);
    if (kind == kSamplingInspection) Count(overview.mutable_sampling(), qualified);

    if (!meter.arrival_batch_no().empty()) {
        v1::BatchStats batch;
        MC_RETURN_IF_ERROR(Load(state, BatchKey(meter.arrival_batch_no()), &batch));
        batch.set_arrival_batch_no(meter.arrival_batch_no());
        Count(batch.mutable_verification(), qualified);
        state.Put(MemberKey(meter.arrival_batch_no(), batch.verified_members()),
                  AsBytes(meter_key));
        batch.set_verified_members(batch.verified_members() + 1);
        WriteProto(state, BatchKey(meter.arrival_batch_no()), batch);
    }
    WriteProto(state, kOverviewKey, overview);
    return Status::Ok();
}

Status IndexOutOfTolerance(const RecordFields& f, StateView& state) {
    std::string key = MeterIndexKey(MeterKey(FieldOr(f, "barCode")));
    v1::MeterIndex meter;
    MC_RETURN_IF_ERROR(Load(state, key, &meter));
    if (meter.out_of_tolerance()) return Status::Ok();  // a meter counts once
    meter.set_out_of_tolerance(true);
    WriteProto(state, key, meter);
    v1::ReplacementStats r;
    MC_RETURN_IF_ERROR(Load(state, kReplacementKey, &r));
    r.set_out_of_tolerance_meters(r.out_of_tolerance_meters() + 1);
    r.set_conversion_permille(Permille(r.orders(), r.out_of_tolerance_meters()));
    WriteProto(state, kReplacementKey, r);
    if (!meter.arrival_batch_no().empty()) {
        v1::BatchStats batch;
        MC_RETURN_IF_ERROR(Load(state, BatchKey(meter.arrival_batch_no()), &batch));
        batch.set_arrival_batch_no(meter.arrival_batch_no());
        batch.set_out_of_tolerance(batch.out_of_tolerance() + 1);
        WriteProto(state, BatchKey(meter.arrival_batch_no()), batch);
    }
    if (!meter.manufacturer().empty()) {
        v1::QualityStats m;
        MC_RETURN_IF_ERROR(Load(state, ManufacturerKey(meter.manufacturer()), &m));
        m.set_key(meter.manufacturer());
        m.set_out_of_tolerance(m.out_of_tolerance() + 1);
        m.set_out_of_tolerance_permille(Permille(m.out_of_tolerance(), m.arrivals()));
        WriteProto(state, ManufacturerKey(meter.manufacturer()), m);
    }
    if (!meter.supply_station().empty()) {
        v1::QualityStats s;
        MC_RETURN_IF_ERROR(Load(state, StationKey(meter.supply_station()), &s));
        s.set_key(meter.supply_station());
        s.set_out_of_tolerance(s.out_of_tolerance() + 1);
        s.set_out_of_tolerance_permille(Permille(s.out_of_tolerance(), s.in_service()));
        WriteProto(state, StationKey(meter.supply_station()), s);
        if (meter.in_service()) {
            AddToHistogram(state, meter.supply_station(), meter.install_year(), 0, 1);
        }
    }
    return Status::Ok();
}

Status IndexStateEvaluation(const RecordFields& f, StateView& state) {
    std::string run = FieldOr(f, "runId");
    v1::EvaluationRunStats stats;
    MC_RETURN_IF_ERROR(Load(state, RunKey(run), &stats));
    stats.set_run_id(run);
    stats.set_count(stats.count() + 1);
    if (FieldOr(f, "modelResult") == kModelOutOfTolerance) {
        stats.set_out_of_tolerance(stats.out_of_tolerance() + 1);
    }
    std::string t = FieldOr(f, "evalTime");  // one layout, so text order is time order
    if (!t.empty()) {
        if (stats.first_eval_time().empty() || t < stats.first_eval_time())
            stats.set_first_eval_time(t);
        if (t > stats.last_eval_time()) stats.set_last_eval_time(t);
    }
    WriteProto(state, RunKey(run), stats);
    return Status::Ok();
}

Status IndexReplacement(const RecordFields& f, StateView& state) {
    v1::ReplacementStats r;
    MC_RETURN_IF_ERROR(Load(state, kReplacementKey, &r));
    r.set_orders(r.orders() + 1);
    bool completed = !FieldOr(f, "completedTime").empty();
    bool timely = FieldOr(f, "timely") == "true";
    if (completed) r.set_completed(r.completed() + 1);
    if (timely) r.set_timely(r.timely() + 1);
    if (FieldOr(f, "accurate") == "true") r.set_accurate(r.accurate() + 1);
    if (!timely) r.set_overdue(r.overdue() + 1);
    r.set_conversion_permille(Permille(r.orders(), r.out_of_tolerance_meters()));
    r.set_accuracy_permille(Permille(r.accurate(), r.orders()));
    r.set_timely_permille(Permille(r.timely(), r.orders()));
    WriteProto(state, kReplacementKey, r);
    return Status::Ok();
}

// ---- calls ----

Result<v1::Organisation> Regulator(const CallContext& ctx, const StateView& state) {
    auto org = OrganisationOfSender(state, ctx.sender);
    if (!org.ok()) return org.status();
    if (!HasRole(*org, kRegulatorRole)) {
        return Status{StatusCode::kPermissionDenied,
                      "only the regulator may run supervision sampling (organisation " +
                          org->name() + " lacks role " + std::string(kRegulatorRole) + ")"};
    }
    return org;
}

Result<SwitchingState> LoadSwitching(const StateView& state, std::string_view series) {
    v1::SwitchingRecord rec;
    MC_RETURN_IF_ERROR(Load(state, SwitchKey(series), &rec));
    SwitchingState s;
    if (!rec.severity().empty()) {
        auto sev = ParseSeverity(rec.severity());
        if (!sev.ok()) return Corruption("stored switching state: " + sev.status().message());
        s.severity = *sev;
    }
    s.recent_normal = rec.recent_normal();
    s.recent_count = rec.recent_count();
    s.consecutive_accepted = rec.consecutive_accepted();
    s.tightened_rejections = rec.tightened_rejections();
    s.switching_score = rec.switching_score();
    s.discontinued = rec.discontinued();
    return s;
}

void StoreSwitching(StateView& state, std::string_view series, const SwitchingState& s,
                    uint32_t lots) {
    v1::SwitchingRecord rec;
    rec.set_series(std::string(series));
    rec.set_severity(std::string(SeverityName(s.severity)));
    rec.set_recent_normal(s.recent_normal);
    rec.set_recent_count(s.recent_count);
    rec.set_consecutive_accepted(s.consecutive_accepted);
    rec.set_tightened_rejections(s.tightened_rejections);
    rec.set_switching_score(s.switching_score);
    rec.set_discontinued(s.discontinued);
    rec.set_lots(lots);
    WriteProto(state, SwitchKey(series), rec);
}

Status CreatePlan(const CallContext& ctx, ByteView args, StateView& state) {
    v1::SamplingPlanArgs a;
    MC_RETURN_IF_ERROR(ParseProto(args, &a, "CreatePlan args"));
    auto regulator = Regulator(ctx, state);
    if (!regulator.ok()) return regulator.status();
    if (!IsSimpleName(a.plan_id())) return InvalidArgument("plan_id must be 1..256 printable characters without '/'");
    if (state.Get(PlanKey(a.plan_id()))) {
        return {StatusCode::kAlreadyExists, "plan " + a.plan_id() + " already exists"};
    }
    auto level = ParseInspectionLevel(a.level());
    if (!level.ok()) return level.status();
    auto aql = ParseAql(a.aql());
    if (!aql.ok()) return aql.status();
    v1::BatchStats batch;
    auto found = ReadProto(state, BatchKey(a.arrival_batch_no()), &batch);
    if (!found.ok()) return found.status();
    if (!*found || batch.verified_members() == 0) {
        return FailedPrecondition("arrival batch " + a.arrival_batch_no() +
                                  " has no verified meters on chain");
    }
    uint64_t lot = a.lot_size() == 0 ? batch.verified_members() : a.lot_size();
    std::string series = batch.manufacturer().empty() ? a.arrival_batch_no() : batch.manufacturer();
    auto switching = LoadSwitching(state, series);
    if (!switching.ok()) return switching.status();
    if (switching->discontinued) {
        return FailedPrecondition("inspection of " + series +
                                  " is discontinued (5 lots not accepted under tightened "
                                  "inspection, GB/T 2828.1 9.4)");
    }
    auto cell = PlanForLot(lot, *level, *aql, switching->severity);
    if (!cell.ok()) return cell.status();
    v1::SamplingPlan plan;
    plan.set_plan_id(a.plan_id());
    plan.set_arrival_batch_no(a.arrival_batch_no());
    plan.set_series(series);
    plan.set_level(std::string(InspectionLevelName(*level)));
    plan.set_aql(AqlText(*aql));
    plan.set_lot_size(lot);
    plan.set_severity(std::string(SeverityName(switching->severity)));
    plan.set_code_letter(std::string(1, cell->code_letter));
    plan.set_plan_letter(std::string(1, cell->plan_letter));
    plan.set_table_sample_size(cell->table_sample_size);
    plan.set_sample_size(cell->sample_size);
    plan.set_ac(cell->ac);
    plan.set_re(cell->re);
    plan.set_full_inspection(cell->full_inspection);
    plan.set_regulator(regulator->name());
    plan.set_height(ctx.height);
    plan.set_created_at_ms(ctx.block_timestamp_ms);
    WriteProto(state, PlanKey(a.plan_id()), plan);
    return Status::Ok();
}

// Uniform integer in [0, bound) from the seed stream (rejection sampling: no modulo bias).
class SeedStream {
public:
    explicit SeedStream(Hash256 seed) : m_seed(seed) {}
    uint64_t Below(uint64_t bound) {
        uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
        for (;;) {
            codec::Writer w;
            w.Digest(m_seed).U64(m_counter++);
            Hash256 h = crypto::Sm3(w.bytes());
            uint64_t v = 0;
            for (int i = 0; i < 8; ++i) v = (v << 8) | h[static_cast<size_t>(i)];
            if (v < limit) return v % bound;
        }
    }

private:
    Hash256 m_seed;
    uint64_t m_counter = 0;
};

Status DrawSample(const CallContext& ctx, ByteView args, StateView& state) {
    v1::DrawSampleArgs a;
    MC_RETURN_IF_ERROR(ParseProto(args, &a, "DrawSample args"));
    auto regulator = Regulator(ctx, state);
    if (!regulator.ok()) return regulator.status();
    v1::SamplingPlan plan;
    auto found = ReadProto(state, PlanKey(a.plan_id()), &plan);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("no sampling plan " + a.plan_id());
    if (plan.sampled()) {
        return {StatusCode::kAlreadyExists, "plan " + a.plan_id() + " already has its sample"};
    }
    v1::BatchStats batch;
    MC_RETURN_IF_ERROR(Load(state, BatchKey(plan.arrival_batch_no()), &batch));
    uint64_t verified = batch.verified_members();
    uint64_t n = plan.sample_size();
    if (n > verified) {
        return FailedPrecondition("the plan's sample of " + std::to_string(n) +
                                  " meters exceeds the " + std::to_string(verified) +
                                  " verified meters of batch " + plan.arrival_batch_no());
    }
    if (static_cast<uint64_t>(a.bar_codes_size()) > n) {
        return InvalidArgument(std::to_string(a.bar_codes_size()) +
                               " bar codes chosen, the plan samples " + std::to_string(n));
    }
    if (!a.random_fill() && static_cast<uint64_t>(a.bar_codes_size()) != n) {
        return InvalidArgument("the plan samples " + std::to_string(n) + " meters, " +
                               std::to_string(a.bar_codes_size()) +
                               " chosen: choose all of them or set random_fill");
    }
    v1::SampleSet sample;
    sample.set_plan_id(plan.plan_id());
    sample.set_arrival_batch_no(plan.arrival_batch_no());
    sample.set_height(ctx.height);
    std::set<std::string, std::less<>> chosen;
    for (int i = 0; i < a.bar_codes_size(); ++i) {
        std::string meter_key = MeterKey(a.bar_codes(i));
        v1::MeterIndex meter;
        MC_RETURN_IF_ERROR(Load(state, MeterIndexKey(meter_key), &meter));
        if (!meter.verified() || meter.arrival_batch_no() != plan.arrival_batch_no()) {
            return InvalidArgument("bar_codes[" + std::to_string(i) +
                                   "] is not a verified meter of batch " +
                                   plan.arrival_batch_no());
        }
        if (!chosen.insert(meter_key).second) {
            return InvalidArgument("bar_codes[" + std::to_string(i) + "] is chosen twice");
        }
        sample.add_meter_keys(meter_key);
    }
    sample.set_chosen_count(static_cast<uint32_t>(chosen.size()));
    // "Data re-check": the rest at random from the remainder. A partial Fisher-Yates shuffle
    // over the member sequence, with the swaps kept in a map: O(draws) state reads.
    codec::Writer w;
    w.Text("meterchain/supervision/sample/v1").Digest(ctx.tx_hash).Text(plan.plan_id());
    Hash256 seed = crypto::Sm3(w.bytes());
    sample.set_seed(ToHex(seed));
    SeedStream stream(seed);
    std::map<uint64_t, uint64_t> swapped;
    auto at = [&](uint64_t i) {
        auto it = swapped.find(i);
        return it == swapped.end() ? i : it->second;
    };
    uint64_t need = n - chosen.size();
    uint32_t drawn = 0;
    for (uint64_t i = 0; drawn < need && i < verified; ++i) {
        uint64_t j = i + stream.Below(verified - i);
        uint64_t pick = at(j);
        swapped[j] = at(i);
        swapped[i] = pick;
        auto member = state.Get(MemberKey(plan.arrival_batch_no(), pick));
        if (!member) return Corruption("batch member " + std::to_string(pick) + " is missing");
        std::string meter_key = ToString(*member);
        if (chosen.count(meter_key) != 0) continue;  // already chosen by the regulator
        sample.add_meter_keys(meter_key);
        ++drawn;
    }
    sample.set_drawn_count(drawn);
    plan.set_sampled(true);
    WriteProto(state, PlanKey(plan.plan_id()), plan);
    WriteProto(state, SampleKey(plan.plan_id()), sample);
    return Status::Ok();
}

Status AddAlert(const CallContext& ctx, StateView& state, v1::SupervisionAlert alert,
                uint32_t n) {
    alert.set_alert_id(Seq(ctx.height, 12) + "-" + Seq(ctx.tx_index, 6) + "-" + Seq(n, 6));
    alert.set_height(ctx.height);
    alert.set_time_ms(ctx.block_timestamp_ms);
    std::string org = alert.org();
    if (org.empty()) {
        auto inst = FindInstitution(state, alert.institution());
        if (!inst.ok()) return inst.status();
        org = inst->has_value() ? (*inst)->org() : std::string("unknown");
        alert.set_org(org);
    }
    WriteProto(state, AlertPrefix(org) + alert.alert_id(), alert);
    v1::VerificationOverview overview;
    MC_RETURN_IF_ERROR(Load(state, kOverviewKey, &overview));
    overview.set_alerts(overview.alerts() + 1);
    WriteProto(state, kOverviewKey, overview);
    return Status::Ok();
}

Status ImportRecheck(const CallContext& ctx, ByteView args, StateView& state) {
    v1::RecheckImportArgs a;
    MC_RETURN_IF_ERROR(ParseProto(args, &a, "ImportRecheck args"));
    auto regulator = Regulator(ctx, state);
    if (!regulator.ok()) return regulator.status();
    v1::SamplingPlan plan;
    auto found = ReadProto(state, PlanKey(a.plan_id()), &plan);
    if (!found.ok()) return found.status();
    if (!*found) return NotFound("no sampling plan " + a.plan_id());
    if (plan.imported()) {
        return {StatusCode::kAlreadyExists,
                "re-check results of plan " + a.plan_id() + " were already imported"};
    }
    if (!plan.sampled()) return FailedPrecondition("plan " + a.plan_id() + " has no sample yet");
    if (a.arrival_batch_no() != plan.arrival_batch_no()) {
        return InvalidArgument("batch number " + a.arrival_batch_no() +
                               " does not match the plan's batch " + plan.arrival_batch_no());
    }
    v1::SampleSet sample;
    MC_RETURN_IF_ERROR(Load(state, SampleKey(plan.plan_id()), &sample));
    if (a.results_size() != sample.meter_keys_size()) {
        return InvalidArgument(std::to_string(a.results_size()) +
                               " re-check results, the sample holds " +
                               std::to_string(sample.meter_keys_size()) + " meters");
    }
    std::set<std::string, std::less<>> in_sample(sample.meter_keys().begin(),
                                                 sample.meter_keys().end());
    std::set<std::string, std::less<>> seen;
    for (int i = 0; i < a.results_size(); ++i) {
        std::string meter_key = MeterKey(a.results(i).bar_code());
        if (in_sample.count(meter_key) == 0) {
            return InvalidArgument("results[" + std::to_string(i) +
                                   "]: the meter is not in the plan's sample");
        }
        if (!seen.insert(meter_key).second) {
            return InvalidArgument("results[" + std::to_string(i) +
                                   "]: the meter's result is given twice");
        }
    }

    v1::RecheckReport report;
    report.set_plan_id(plan.plan_id());
    report.set_arrival_batch_no(plan.arrival_batch_no());
    report.set_height(ctx.height);
    std::set<std::string> inconsistent_institutions;
    uint32_t alert_n = 0;
    for (const auto& item : a.results()) {
        std::string meter_key = MeterKey(item.bar_code());
        v1::MeterIndex meter;
        MC_RETURN_IF_ERROR(Load(state, MeterIndexKey(meter_key), &meter));
        v1::MeterRecheck* r = report.add_meters();
        r->set_meter_key(meter_key);
        r->set_inst_id(meter.inst_id());
        r->set_recheck_result(item.veri_result());
        std::map<std::string, std::string, std::less<>> first;
        for (const auto& c : meter.conclusions()) first.emplace(c.name(), c.value());
        std::set<std::string> differing;
        if (item.veri_result() != meter.veri_result()) differing.insert("veriResult");
        for (const auto& c : item.conclusions()) {
            auto it = first.find(c.name());
            if (it == first.end()) {
                return InvalidArgument("re-check item " + c.name() +
                                       " is not a conclusion of the first verification");
            }
            if (it->second != c.value()) differing.insert(c.name());
        }
        for (const auto& d : differing) r->add_differing_fields(d);
        r->set_consistent(differing.empty());
        if (item.veri_result() == kUnqualified) {
            report.set_nonconforming_count(report.nonconforming_count() + 1);
        }
        if (!differing.empty()) {
            report.set_inconsistent_count(report.inconsistent_count() + 1);
            inconsistent_institutions.insert(meter.inst_id());
            v1::SupervisionAlert alert;
            alert.set_kind("RECHECK_INCONSISTENT");
            alert.set_institution(meter.inst_id());
            alert.set_arrival_batch_no(plan.arrival_batch_no());
            alert.set_meter_key(meter_key);
            alert.set_plan_id(plan.plan_id());
            std::string detail = "re-check disagrees with the first verification in";
            for (const auto& d : differing) detail += " " + d;
            alert.set_detail(detail);
            MC_RETURN_IF_ERROR(AddAlert(ctx, state, std::move(alert), alert_n++));
        }
    }
    report.set_lot_accepted(report.nonconforming_count() <= plan.ac());
    report.set_batch_failed(report.inconsistent_count() >= kBatchFailInconsistent);

    v1::BatchStats batch;
    MC_RETURN_IF_ERROR(Load(state, BatchKey(plan.arrival_batch_no()), &batch));
    batch.set_rechecked(batch.rechecked() + static_cast<uint64_t>(a.results_size()));
    batch.set_recheck_inconsistent(batch.recheck_inconsistent() + report.inconsistent_count());
    v1::VerificationOverview overview;
    MC_RETURN_IF_ERROR(Load(state, kOverviewKey, &overview));
    overview.set_rechecked_meters(overview.rechecked_meters() +
                                  static_cast<uint64_t>(a.results_size()));
    overview.set_recheck_inconsistent(overview.recheck_inconsistent() +
                                      report.inconsistent_count());
    if (report.batch_failed() && !batch.first_verification_failed()) {
        overview.set_failed_batches(overview.failed_batches() + 1);
    }
    WriteProto(state, kOverviewKey, overview);
    if (report.batch_failed()) {
        batch.set_first_verification_failed(true);
        batch.set_needs_reverification(true);
        for (const auto& inst : inconsistent_institutions) {
            v1::SupervisionAlert alert;
            alert.set_kind("BATCH_FIRST_VERIFICATION_FAILED");
            alert.set_institution(inst);
            alert.set_arrival_batch_no(plan.arrival_batch_no());
            alert.set_plan_id(plan.plan_id());
            alert.set_detail(std::to_string(report.inconsistent_count()) +
                             " meters of the batch disagree with their first verification: the "
                             "batch's first verification fails and must be redone");
            MC_RETURN_IF_ERROR(AddAlert(ctx, state, std::move(alert), alert_n++));
        }
    }
    WriteProto(state, BatchKey(plan.arrival_batch_no()), batch);

    // Switching rules: the lot's outcome moves the series' severity for its next lot.
    auto switching = LoadSwitching(state, plan.series());
    if (!switching.ok()) return switching.status();
    LotOutcome lot;
    lot.accepted = report.lot_accepted();
    lot.ac = plan.ac();
    auto aql = ParseAql(plan.aql());
    auto letter = plan.code_letter().empty() ? 'A' : plan.code_letter()[0];
    if (aql.ok() && *aql > 0) {
        auto tighter = MasterTablePlan(letter, *aql - 1, Severity::kNormal);
        lot.accepted_one_step_tighter =
            tighter.ok() && report.nonconforming_count() <= tighter->ac;
    }
    v1::SwitchingRecord previous;
    MC_RETURN_IF_ERROR(Load(state, SwitchKey(plan.series()), &previous));
    SwitchingState next = ApplySwitching(*switching, lot);
    StoreSwitching(state, plan.series(), next, previous.lots() + 1);
    report.set_severity_after(std::string(SeverityName(next.severity)));

    plan.set_imported(true);
    WriteProto(state, PlanKey(plan.plan_id()), plan);
    WriteProto(state, RecheckKey(plan.plan_id()), report);
    return Status::Ok();
}

}  // namespace

Status IndexAcceptedRecord(const CallContext& ctx, RecordType type, const RecordFields& fields,
                           StateView& state) {
    WriteU64(state, kLastTimeKey, ctx.block_timestamp_ms);
    switch (type) {
        case v1::RECORD_ARRIVAL_BATCH:
            return IndexArrivalBatch(fields, state);
        case v1::RECORD_METER_ASSET:
            return IndexMeterAsset(fields, state);
        case v1::RECORD_VERIFICATION_RESULT:
            return IndexVerification(fields, state);
        case v1::RECORD_OUT_OF_TOLERANCE:
            return IndexOutOfTolerance(fields, state);
        case v1::RECORD_STATE_EVALUATION:
            return IndexStateEvaluation(fields, state);
        case v1::RECORD_REPLACEMENT_ORDER:
            return IndexReplacement(fields, state);
        default:
            return Status::Ok();
    }
}

Result<std::optional<std::string>> MeterArrivalDate(const StateView& state,
                                                    std::string_view bar_code) {
    v1::MeterIndex meter;
    auto found = ReadProto(state, MeterIndexKey(MeterKey(bar_code)), &meter);
    if (!found.ok()) return found.status();
    if (!*found || meter.arrival_batch_no().empty()) return std::optional<std::string>();
    v1::BatchStats batch;
    found = ReadProto(state, BatchKey(meter.arrival_batch_no()), &batch);
    if (!found.ok()) return found.status();
    if (!*found || batch.arrival_date().empty()) return std::optional<std::string>();
    return std::optional<std::string>(batch.arrival_date());
}

std::string_view SupervisionContract::Name() const { return kSupervisionContract; }

Status SupervisionContract::Call(const CallContext& ctx, std::string_view method, ByteView args,
                                 StateView& state) {
    if (method == "CreatePlan") return CreatePlan(ctx, args, state);
    if (method == "DrawSample") return DrawSample(ctx, args, state);
    if (method == "ImportRecheck") return ImportRecheck(ctx, args, state);
    return InvalidArgument("supervision has no method '" + std::string(method) + "'");
}

Result<Bytes> SupervisionContract::Query(std::string_view method, ByteView args,
                                         const StateView& state) const {
    v1::QueryArgs q;
    MC_RETURN_IF_ERROR(ParseProto(args, &q, "query args"));
    auto get = [&](const std::string& key, const std::string& what) -> Result<Bytes> {
        auto v = state.Get(key);
        if (!v) return NotFound("no " + what);
        return *v;
    };
    if (method == "Plan") return get(PlanKey(q.id()), "sampling plan " + q.id());
    if (method == "Sample") return get(SampleKey(q.id()), "sample for plan " + q.id());
    if (method == "Recheck") return get(RecheckKey(q.id()), "re-check import for plan " + q.id());
    if (method == "Batch") return get(BatchKey(q.id()), "statistics for arrival batch " + q.id());
    if (method == "Switching") {
        auto v = state.Get(SwitchKey(q.id()));
        if (v) return *v;
        v1::SwitchingRecord rec;
        rec.set_series(q.id());
        rec.set_severity(std::string(SeverityName(Severity::kNormal)));
        return SerializeProto(rec);
    }
    if (method == "Alerts") {
        v1::AlertList list;
        Status status = Status::Ok();
        std::string prefix = q.id().empty() ? kPrefix + "alert/" : AlertPrefix(q.id());
        state.Scan(prefix, [&](std::string_view, ByteView value) {
            status = ParseProto(value, list.add_alerts(), "stored alert");
            return status.ok();
        });
        if (!status.ok()) return Corruption(status.message());
        return SerializeProto(list);
    }
    if (method == "Overview") {
        v1::VerificationOverview overview;
        MC_RETURN_IF_ERROR(Load(state, kOverviewKey, &overview));
        // One counter per conclusion field (nine keys), sorted here: bounded, not a scan of
        // records.
        std::vector<std::pair<uint64_t, std::string>> items;
        for (const auto& field : ConclusionFields()) {
            uint64_t n = ReadU64(state, ItemKey(field));
            if (n != 0) items.emplace_back(n, field);
        }
        std::sort(items.begin(), items.end(), [](const auto& x, const auto& y) {
            return x.first != y.first ? x.first > y.first : x.second < y.second;
        });
        for (size_t i = 0; i < items.size() && i < kTopItems; ++i) {
            auto* it = overview.add_top_failing_items();
            it->set_field(items[i].second);
            it->set_failures(items[i].first);
        }
        return SerializeProto(overview);
    }
    if (method == "OutOfTolerance") {
        v1::OutOfToleranceOverview out;
        uint32_t year = q.id().empty() ? YearOfMs(ReadU64(state, kLastTimeKey)) : YearOf(q.id());
        out.set_as_of_year(year);
        Status status = Status::Ok();
        // Aggregates only: one entry per evaluation run, manufacturer and supply station.
        state.Scan(kRunPrefix, [&](std::string_view, ByteView value) {
            status = ParseProto(value, out.add_runs(), "run statistics");
            return status.ok();
        });
        MC_RETURN_IF_ERROR(status);
        MC_RETURN_IF_ERROR(Load(state, kReplacementKey, out.mutable_replacement()));
        state.Scan(kManufacturerPrefix, [&](std::string_view, ByteView value) {
            status = ParseProto(value, out.add_manufacturers(), "manufacturer statistics");
            return status.ok();
        });
        MC_RETURN_IF_ERROR(status);
        // One scan: each station's statistics, then its install-year histogram (the key with
        // the "/hist" suffix sorts right after the station's own key). Over 8 years in
        // service: install year + 8 before the as-of year.
        state.Scan(kStationPrefix, [&](std::string_view key, ByteView value) {
            const bool histogram = key.size() > kHistogramSuffix.size() &&
                                   key.substr(key.size() - kHistogramSuffix.size()) ==
                                       kHistogramSuffix;
            if (!histogram) {
                status = ParseProto(value, out.add_stations(), "station statistics");
                return status.ok();
            }
            if (out.stations().empty()) return true;
            auto* station = out.mutable_stations(out.stations_size() - 1);
            for (const auto& y : DecodeHistogram(value)) {
                if (y.year + kYearsInServiceLimit < year) {
                    station->set_over_8_years(station->over_8_years() + y.in_service);
                    station->set_over_8_years_out_of_tolerance(
                        station->over_8_years_out_of_tolerance() + y.out_of_tolerance);
                }
            }
            return true;
        });
        MC_RETURN_IF_ERROR(status);
        return SerializeProto(out);
    }
    return InvalidArgument("supervision has no query '" + std::string(method) + "'");
}

}  // namespace meterchain::contracts
