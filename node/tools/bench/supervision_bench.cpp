// supervision_bench: loads N meters, their first verifications and some out-of-tolerance,
// evaluation and replacement records into the supervision indexes over LevelDB (the node's
// store), block by block as the executor would, and then times every overview query.
//
//   supervision_bench [--meters 1000000] [--batch-size 1000] [--block 5000] [--dir DIR]
//                     [--repeat 50]
//
// It drives contracts::IndexAcceptedRecord, the hook Validity calls for every record it stores,
// directly: what is measured is the cost of keeping the counters and indexes, not the
// cryptography and rules of Validity (measured by scripts/bench). Prints the load time of every
// 100,000 meters (linear loading: about equal slices) and each query's median and worst time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "contracts/common.h"
#include "contracts/records.h"
#include "contracts/supervision.h"
#include "node/storage/kv_store.h"
#include "node/tools/meterctl_flags.h"
#include "proto/metrology.pb.h"

namespace meterchain {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Committed state over the KvStore, read-only (writes go through an OverlayState per block).
class KvState final : public contracts::StateView {
public:
    explicit KvState(const storage::KvStore& kv) : m_kv(kv) {}
    std::optional<Bytes> Get(std::string_view key) const override {
        auto v = m_kv.Get(key);
        return v.ok() ? *v : std::nullopt;
    }
    void Put(std::string_view, ByteView) override {}
    void Delete(std::string_view) override {}
    void Scan(std::string_view prefix,
              const std::function<bool(std::string_view, ByteView)>& fn) const override {
        (void)m_kv.Scan(prefix, fn);
    }

private:
    const storage::KvStore& m_kv;
};

std::string Digits(uint64_t n, int width) {
    std::string s = std::to_string(n);
    return std::string(static_cast<size_t>(width) - std::min<size_t>(s.size(), width), '0') + s;
}

int Run(const tools::Flags& flags) {
    auto meters = flags.Number("meters", 1000000, 1000, 100000000);
    auto batch_size = flags.Number("batch-size", 1000, 10, 1000000);
    auto block = flags.Number("block", 5000, 1, 1000000);
    auto repeat = flags.Number("repeat", 50, 1, 100000);
    if (!meters.ok() || !batch_size.ok() || !block.ok() || !repeat.ok()) {
        std::fprintf(stderr, "supervision_bench: bad flag value (see --help)\n");
        return 2;
    }
    const std::filesystem::path dir =
        flags.Get("dir").value_or((std::filesystem::temp_directory_path() /
                                   ("supervision-bench-" + std::to_string(::getpid())))
                                      .string());
    std::filesystem::remove_all(dir);
    auto kv = storage::OpenLevelDb(dir.string(), storage::LevelDbOptions{});
    if (!kv.ok()) {
        std::fprintf(stderr, "supervision_bench: %s\n", kv.status().ToString().c_str());
        return 1;
    }
    KvState committed(**kv);
    std::printf("loading %llu meters (%llu per arrival batch, %llu per block) into %s\n",
                static_cast<unsigned long long>(*meters),
                static_cast<unsigned long long>(*batch_size),
                static_cast<unsigned long long>(*block), dir.c_str());

    // Proto field names of eight Appendix B conclusion fields.
    const char* items[] = {"volt_conc_code",     "basic_error_conc_code", "intuit_conc_code",
                           "const_conc_code",    "dayerr_conc_code",      "deviation_met_conc",
                           "creeping_conc_code", "starting_conc_code"};
    contracts::CallContext ctx;
    ctx.block_timestamp_ms = 1'767'225'600'000;  // 2026-01-01
    const auto start = Clock::now();
    auto slice_start = start;
    uint64_t i = 0;
    while (i < *meters) {
        contracts::OverlayState block_state(committed);
        ctx.height += 1;
        for (uint64_t end = std::min(*meters, i + *block); i < end; ++i) {
            const std::string bar = "123" + Digits(i, 19);
            const std::string batch_no = "AB" + Digits(i / *batch_size, 8);
            const std::string maker = "M" + Digits(i / *batch_size % 20, 2);
            if (i % *batch_size == 0) {
                v1::ArrivalBatch b;
                b.set_arrival_batch_no(batch_no);
                b.set_manufacturer(maker);
                b.set_arrival_date("2024-01-10");
                (void)contracts::IndexAcceptedRecord(ctx, v1::RECORD_ARRIVAL_BATCH,
                                                     contracts::RecordFields::FromMessage(b),
                                                     block_state);
            }
            v1::MeterAsset m;
            m.set_bar_code(bar);
            m.set_arrival_batch_no(batch_no);
            m.set_manufacturer(maker);
            m.set_supply_station("SS" + Digits(i % 200, 3));
            m.set_install_date(std::to_string(2008 + i % 18) + "-05-01");
            m.set_state("运行");
            (void)contracts::IndexAcceptedRecord(ctx, v1::RECORD_METER_ASSET,
                                                 contracts::RecordFields::FromMessage(m),
                                                 block_state);
            v1::VerificationResult r;
            r.set_bar_code(bar);
            r.set_veri_task_no("1201202402" + Digits(i, 6));
            r.set_inst_id(i % 2 ? "TJ-IM" : "TJ-MVS");
            r.set_inspection_kind(i % 10 == 0 ? "抽检" : "全检");
            const bool failed = i % 50 == 7;
            r.set_veri_result(failed ? "不合格" : "合格");
            v1::VerificationResult full = r;
            for (size_t k = 0; k < std::size(items); ++k) {
                const std::string value = failed && k == (i / 50) % std::size(items) ? "不合格"
                                                                                     : "合格";
                const auto* field = full.GetDescriptor()->FindFieldByName(items[k]);
                full.GetReflection()->SetString(&full, field, value);
            }
            (void)contracts::IndexAcceptedRecord(ctx, v1::RECORD_VERIFICATION_RESULT,
                                                 contracts::RecordFields::FromMessage(full),
                                                 block_state);
            if (i % 100 == 3) {
                v1::OutOfTolerance o;
                o.set_bar_code(bar);
                o.set_detect_time("2025-03-01 10:00:00");
                (void)contracts::IndexAcceptedRecord(ctx, v1::RECORD_OUT_OF_TOLERANCE,
                                                     contracts::RecordFields::FromMessage(o),
                                                     block_state);
                v1::ReplacementOrder ro;
                ro.set_work_order_no("RO" + Digits(i, 10));
                ro.set_bar_code(bar);
                ro.set_timely(i % 300 != 3);
                ro.set_accurate(true);
                (void)contracts::IndexAcceptedRecord(ctx, v1::RECORD_REPLACEMENT_ORDER,
                                                     contracts::RecordFields::FromMessage(ro),
                                                     block_state);
            }
            if (i % 10 == 1) {
                v1::StateEvaluation e;
                e.set_bar_code(bar);
                e.set_run_id("RUN2025Q" + std::to_string(1 + i % 4));
                e.set_model_result(i % 1000 == 1 ? "超差" : "正常");
                e.set_eval_time("2025-02-01 00:00:00");
                (void)contracts::IndexAcceptedRecord(ctx, v1::RECORD_STATE_EVALUATION,
                                                     contracts::RecordFields::FromMessage(e),
                                                     block_state);
            }
            if ((i + 1) % 100000 == 0) {
                const auto now = Clock::now();
                std::printf("  %9llu meters  last 100,000 in %7.0f ms  total %6.1f s\n",
                            static_cast<unsigned long long>(i + 1), Ms(now - slice_start),
                            Ms(now - start) / 1000);
                std::fflush(stdout);
                slice_start = now;
            }
        }
        storage::KvBatch batch;
        for (const auto& [key, value] : block_state.writes()) {
            if (value) {
                batch.Put(key, *value);
            } else {
                batch.Delete(key);
            }
        }
        Status s = (*kv)->Write(batch, false);
        if (!s.ok()) {
            std::fprintf(stderr, "supervision_bench: %s\n", s.ToString().c_str());
            return 1;
        }
    }
    std::printf("loaded in %.1f s\n", Ms(Clock::now() - start) / 1000);

    contracts::SupervisionContract contract;
    auto time_query = [&](const std::string& method, const std::string& id) {
        std::vector<double> times;
        size_t bytes = 0;
        for (uint64_t r = 0; r < *repeat; ++r) {
            v1::QueryArgs q;
            q.set_id(id);
            const auto t0 = Clock::now();
            auto answer = contract.Query(method, AsBytes(q.SerializeAsString()), committed);
            times.push_back(Ms(Clock::now() - t0));
            if (!answer.ok()) {
                std::printf("  %-16s %s\n", method.c_str(), answer.status().ToString().c_str());
                return;
            }
            bytes = answer->size();
        }
        std::sort(times.begin(), times.end());
        std::printf("  %-16s id %-12s median %7.3f ms  worst %7.3f ms  (%zu bytes)\n",
                    method.c_str(), id.c_str(), times[times.size() / 2], times.back(), bytes);
    };
    std::printf("queries (%llu repetitions each):\n", static_cast<unsigned long long>(*repeat));
    time_query("Overview", "");
    time_query("Batch", "AB" + Digits(*meters / *batch_size / 2, 8));
    time_query("OutOfTolerance", "2026");
    time_query("Alerts", "institute");
    time_query("Switching", "M07");
    std::filesystem::remove_all(dir);
    return 0;
}

}  // namespace
}  // namespace meterchain

int main(int argc, char** argv) {
    const std::vector<meterchain::tools::FlagSpec> specs = {
        {"meters", "N", "meters to load; default 1000000"},
        {"batch-size", "N", "meters per arrival batch; default 1000"},
        {"block", "N", "meters per block (one LevelDB write batch); default 5000"},
        {"repeat", "N", "repetitions of each query; default 50"},
        {"dir", "DIR", "LevelDB directory (removed before and after); default a temp dir"},
        {"help", "", "show this help"}};
    std::vector<std::string> args(argv + 1, argv + argc);
    auto flags = meterchain::tools::Flags::Parse(args, specs);
    if (!flags.ok() || flags->Has("help")) {
        std::fprintf(flags.ok() ? stdout : stderr,
                     "usage: supervision_bench [--meters N] [--batch-size N] [--block N] "
                     "[--repeat N] [--dir DIR]\n%s",
                     flags.ok() ? "" : (flags.status().message() + "\n").c_str());
        return flags.ok() ? 0 : 2;
    }
    return meterchain::Run(*flags);
}
