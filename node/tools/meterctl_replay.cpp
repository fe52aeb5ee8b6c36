// meterctl replay and export: the auditors' offline tools over a node's stored chain
// (node/audit). Replay re-executes every block from genesis and names the first check that
// fails; export writes decoded blocks, transactions, receipts and Validity result sets.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "node/audit/chain_reader.h"
#include "node/audit/data_dir.h"
#include "node/audit/export.h"
#include "node/audit/anchor_check.h"
#include "node/audit/replay.h"
#include "node/chain/proto_adapter.h"
#include "node/config/config.h"
#include "node/crypto/signer.h"
#include "node/daemon/genesis.h"
#include "node/tools/meterctl_commands.h"
#include "node/base/json.h"

namespace meterchain::tools {
namespace {
namespace fs = std::filesystem;

std::string Fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

std::string Duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    const auto s = static_cast<uint64_t>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) {
        std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", (unsigned long long)(s / 3600),
                      (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
    } else {
        std::snprintf(buf, sizeof buf, "%llu:%02llu", (unsigned long long)(s / 60),
                      (unsigned long long)(s % 60));
    }
    return buf;
}

// Progress on stderr: a bar redrawn in place on a terminal, a plain line every 5 s otherwise.
class ProgressPrinter {
public:
    ProgressPrinter() : m_tty(::isatty(STDERR_FILENO) == 1) {}

    void Update(const audit::ReplayProgress& p, bool final) {
        const double rate = p.seconds > 0 ? static_cast<double>(p.blocks) / p.seconds : 0;
        const double sig_rate = p.seconds > 0 ? static_cast<double>(p.signatures) / p.seconds : 0;
        const uint64_t left = p.to_height > p.height ? p.to_height - p.height : 0;
        const std::string eta = rate > 0 ? Duration(static_cast<double>(left) / rate) : "?";
        const std::string numbers = std::to_string(p.height) + "/" + std::to_string(p.to_height) +
                                    " blocks, " + Fixed(rate, 0) + " blocks/s, " +
                                    Fixed(sig_rate, 0) + " signatures/s, ETA " + eta;
        if (m_tty) {
            constexpr int kWidth = 30;
            const double done =
                p.to_height == 0 ? 1.0 : static_cast<double>(p.height) / static_cast<double>(p.to_height);
            const int fill = std::clamp(static_cast<int>(done * kWidth), 0, kWidth);
            std::fprintf(stderr, "\r[%s%s] %s   ", std::string(fill, '#').c_str(),
                         std::string(kWidth - fill, '.').c_str(), numbers.c_str());
            if (final && !m_finished) std::fprintf(stderr, "\n");
            m_finished = final;
            std::fflush(stderr);
            return;
        }
        if (final || p.seconds - m_last_line >= 5.0) {
            m_last_line = p.seconds;
            std::fprintf(stderr, "replay: height %s\n", numbers.c_str());
        }
    }

    // Ends a bar left unfinished (a replay stopped by a mismatch).
    void Finish() {
        if (m_tty && !m_finished) std::fprintf(stderr, "\n");
        m_finished = true;
    }

private:
    bool m_tty;
    bool m_finished = false;
    double m_last_line = 0;
};

// The configuration replay takes the genesis from: --config, else node.json beside or
// inside the data dir (the layout init-cluster writes).
Result<std::string> FindConfig(const Flags& flags) {
    if (auto c = flags.Get("config")) return *c;
    auto dir = flags.Get("data-dir");
    if (!dir) return InvalidArgument("--data-dir or --config is required");
    for (const fs::path& candidate : {fs::path(*dir) / "node.json", fs::path(*dir) / ".." / "node.json"}) {
        std::error_code ec;
        if (fs::exists(candidate, ec)) return fs::weakly_canonical(candidate, ec).string();
    }
    return InvalidArgument("no node.json beside " + *dir +
                           ": pass --config FILE (a node's configuration names the genesis file "
                           "and the validator set the chain starts from)");
}

// Up to `max` transactions from the first blocks of the chain (for the signature probe).
std::vector<chain::Transaction> SampleTransactions(const storage::KvStore& kv, uint64_t tip,
                                                   size_t max) {
    audit::ChainReader reader(kv);
    std::vector<chain::Transaction> out;
    for (uint64_t h = 1; h <= tip && h <= 4096 && out.size() < max; ++h) {
        auto bytes = reader.BlockBytes(h);
        if (!bytes.ok() || !*bytes) break;
        auto block = chain::ParseBlock(**bytes);
        if (!block.ok()) break;
        for (auto& tx : block->transactions) {
            if (out.size() < max) out.push_back(std::move(tx));
        }
    }
    return out;
}

// Transaction signatures per second that `threads` threads verify at once through the
// project's verifier (chain::VerifyTransaction over crypto::Sm2Verifier, one per thread).
double ProbeVerifyRate(const std::vector<chain::Transaction>& samples, unsigned threads,
                       double seconds) {
    std::atomic<uint64_t> total{0};
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            crypto::Sm2Verifier verifier;
            uint64_t n = 0;
            for (size_t i = t; std::chrono::steady_clock::now() < until; ++i) {
                (void)chain::VerifyTransaction(samples[i % samples.size()], verifier);
                ++n;
            }
            total += n;
        });
    }
    for (auto& th : pool) th.join();
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return static_cast<double>(total.load()) / elapsed;
}

}  // namespace

int RunReplay(const Flags& flags) {
    const bool json = flags.Has("json");
    auto say = [&](const std::string& line) { std::fprintf(stderr, "replay: %s\n", line.c_str()); };
    auto config_path = FindConfig(flags);
    if (!config_path.ok()) {
        std::fprintf(stderr, "meterctl replay: %s\n", config_path.status().message().c_str());
        return kExitUsage;
    }
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    auto jobs = flags.Number("jobs", cores, 1, 1024);
    if (!jobs.ok()) {
        std::fprintf(stderr, "meterctl replay: %s\n", jobs.status().message().c_str());
        return kExitUsage;
    }
    std::optional<uint64_t> to;
    if (flags.Has("to")) {
        auto v = flags.Number("to", 0, 0, UINT64_MAX);
        if (!v.ok()) {
            std::fprintf(stderr, "meterctl replay: %s\n", v.status().message().c_str());
            return kExitUsage;
        }
        to = *v;
    }
    auto fail = [&](const Status& s) {
        std::fprintf(stderr, "meterctl replay: %s\n", s.message().c_str());
        return kExitFailure;
    };

    auto config = config::LoadNodeConfig(*config_path);
    if (!config.ok()) return fail(config.status());
    const std::string data_dir = flags.Get("data-dir").value_or(config->data_dir());
    auto genesis = node::LoadGenesis(*config);
    if (!genesis.ok()) return fail(genesis.status());
    // Public records were validated under the chain validation key: re-executing their
    // uploads needs this node's copy of it (unwrapped with the config's SM2 key).
    auto validation = node::LoadNodeValidationKey(*config, genesis->writes);
    if (!validation.ok()) return fail(validation.status());

    audit::OpenChainOptions open_options;
    open_options.always_copy = flags.Has("copy");
    open_options.say = say;
    auto opened = audit::OpenChainForAudit(data_dir, open_options);
    if (!opened.ok()) return fail(opened.status());
    auto tip = audit::ChainReader(*(*opened)->kv).Tip();
    if (!tip.ok()) return fail(tip.status());
    if (!*tip) return fail(NotFound((*opened)->source + " holds no chain (no tip record)"));
    if (to && *to > (*tip)->height) {
        std::fprintf(stderr, "meterctl replay: --to %llu is above the stored tip %llu\n",
                     (unsigned long long)*to, (unsigned long long)(*tip)->height);
        return kExitUsage;
    }
    say("chain " + config->chain_id() + " in " + (*opened)->source + ", tip " +
        std::to_string((*tip)->height) + ", replaying 0.." +
        std::to_string(to.value_or((*tip)->height)) + " with " + std::to_string(*jobs) +
        " signature thread(s), genesis from " + *config_path);

    // The probe: the cores' verification rate, through the same verifier, on this chain's
    // own transactions, right before and after the replay.
    const bool probe = flags.Has("probe");
    std::vector<chain::Transaction> samples;
    double probe_before = 0;
    double probe_single = 0;
    if (probe) {
        samples = SampleTransactions(*(*opened)->kv, (*tip)->height, 64);
        if (samples.empty()) {
            say("probe skipped: the chain holds no transaction to verify");
        } else {
            probe_single = ProbeVerifyRate(samples, 1, 1.0);
            probe_before = ProbeVerifyRate(samples, static_cast<unsigned>(*jobs), 1.5);
        }
    }

    audit::ReplayOptions options;
    options.chain_id = config->chain_id();
    options.genesis_block = genesis->block;
    options.genesis_writes = genesis->writes;
    options.registry = genesis->registry.get();
    options.validation = validation->get();
    options.to_height = to;
    options.jobs = static_cast<unsigned>(*jobs);
    // An upper chain's accepted anchors are checked again against the registered validator
    // sets (docs/CROSSCHAIN.md); a chain without anchors passes it trivially.
    audit::AnchorCheck anchor_check;
    options.extra_checks.push_back(&anchor_check);
    ProgressPrinter printer;
    options.on_progress = [&](const audit::ReplayProgress& p) {
        printer.Update(p, p.height >= p.to_height);
    };
    auto report = audit::Replay(*(*opened)->kv, options);
    printer.Finish();
    if (!report.ok()) return fail(report.status());
    double probe_after = 0;
    if (probe && !samples.empty()) {
        probe_after = ProbeVerifyRate(samples, static_cast<unsigned>(*jobs), 1.5);
    }

    const audit::ReplayReport& r = *report;
    const uint64_t sigs = r.tx_signatures + r.commit_signatures;
    const double secs = std::max(r.seconds, 1e-9);
    const double sig_rate = static_cast<double>(sigs) / secs;
    // Transaction signatures go through EVP like the probe; commit signatures through the
    // validators' precomputed tables, which are faster, so both rates are reported.
    const double tx_rate = static_cast<double>(r.tx_signatures) / secs;
    const double probe_rate = (probe_before + probe_after) / 2;
    if (json) {
        std::string out = "{\"result\":" + JsonString(r.mismatch ? "mismatch" : "ok") +
                          ",\"chain_id\":" + JsonString(config->chain_id()) +
                          ",\"tip\":" + std::to_string(r.tip_height) +
                          ",\"to\":" + std::to_string(r.to_height) +
                          ",\"blocks\":" + std::to_string(r.blocks) +
                          ",\"transactions\":" + std::to_string(r.transactions) +
                          ",\"tx_signatures\":" + std::to_string(r.tx_signatures) +
                          ",\"commit_signatures\":" + std::to_string(r.commit_signatures) +
                          ",\"seconds\":" + Fixed(r.seconds, 3) +
                          ",\"blocks_per_s\":" + Fixed(static_cast<double>(r.blocks) / secs, 1) +
                          ",\"signatures_per_s\":" + Fixed(sig_rate, 1) +
                          ",\"tx_signatures_per_s\":" + Fixed(tx_rate, 1) +
                          ",\"jobs\":" + std::to_string(*jobs) +
                          ",\"state_root\":" + JsonString(ToHex(r.state_root)) +
                          ",\"reached_tip\":" + (r.reached_tip ? "true" : "false") +
                          ",\"anchors_checked\":" + std::to_string(anchor_check.anchors_checked());
        if (probe && probe_rate > 0) {
            out += ",\"probe\":{\"single_core_verifies_per_s\":" + Fixed(probe_single, 1) +
                   ",\"all_threads_verifies_per_s_before\":" + Fixed(probe_before, 1) +
                   ",\"all_threads_verifies_per_s_after\":" + Fixed(probe_after, 1) +
                   ",\"fraction\":" + Fixed(sig_rate / probe_rate, 3) +
                   ",\"tx_signatures_fraction\":" + Fixed(tx_rate / probe_rate, 3) + "}";
        }
        if (r.mismatch) {
            const audit::Mismatch& m = *r.mismatch;
            out += ",\"mismatch\":{\"height\":" + std::to_string(m.height) +
                   ",\"check\":" + JsonString(audit::CheckName(m.check));
            if (m.tx_index) out += ",\"tx_index\":" + std::to_string(*m.tx_index);
            if (m.tx_hash) out += ",\"tx_hash\":" + JsonString(ToHex(*m.tx_hash));
            out += ",\"expected\":" + JsonString(m.expected) +
                   ",\"actual\":" + JsonString(m.actual) + ",\"detail\":" + JsonString(m.detail) +
                   "}";
        }
        std::printf("%s}\n", out.c_str());
    } else {
        if (r.mismatch) {
            std::printf("MISMATCH at %s\n", r.mismatch->ToString().c_str());
            std::printf("%llu blocks passed every check before it (%.1f s)\n",
                        (unsigned long long)r.blocks, r.seconds);
        } else {
            std::printf("OK: blocks 0..%llu verified: %llu blocks, %llu transactions, %llu "
                        "transaction and %llu commit signatures, in %.2f s (%.0f blocks/s, %.0f "
                        "signatures/s, %llu signature threads)\n",
                        (unsigned long long)r.to_height, (unsigned long long)r.blocks,
                        (unsigned long long)r.transactions, (unsigned long long)r.tx_signatures,
                        (unsigned long long)r.commit_signatures, r.seconds,
                        static_cast<double>(r.blocks) / secs, sig_rate,
                        (unsigned long long)*jobs);
            std::printf("state root %s%s\n", ToHex(r.state_root).c_str(),
                        r.reached_tip ? "; the tip record and the node's stored state match the "
                                        "replay"
                                      : " (stopped below the tip: tip and stored state not compared)");
            if (anchor_check.anchors_checked() > 0) {
                std::printf("cross-chain anchors: %llu accepted anchors checked again against "
                            "the registered validator sets\n",
                            (unsigned long long)anchor_check.anchors_checked());
            }
        }
        if (probe && probe_rate > 0) {
            std::printf("probe: %.0f verifies/s on %llu threads at once (before %.0f, after %.0f; "
                        "one core alone %.0f): the replay checked %.0f signatures/s = %.0f%% of it "
                        "(transaction signatures alone %.0f/s = %.0f%%)\n",
                        probe_rate, (unsigned long long)*jobs, probe_before, probe_after,
                        probe_single, sig_rate, 100.0 * sig_rate / probe_rate, tx_rate,
                        100.0 * tx_rate / probe_rate);
        }
    }
    return r.mismatch ? kExitMismatch : kExitOk;
}

int RunExport(const Flags& flags) {
    auto dir = flags.Required("data-dir");
    auto format_name = flags.Get("format").value_or("jsonl");
    if (!dir.ok() || (format_name != "jsonl" && format_name != "csv")) {
        std::fprintf(stderr, "meterctl export: %s\n",
                     !dir.ok() ? dir.status().message().c_str()
                               : "--format must be jsonl or csv");
        return kExitUsage;
    }
    auto say = [](const std::string& line) { std::fprintf(stderr, "export: %s\n", line.c_str()); };
    audit::OpenChainOptions open_options;
    open_options.always_copy = flags.Has("copy");
    open_options.say = say;
    auto opened = audit::OpenChainForAudit(*dir, open_options);
    if (!opened.ok()) {
        std::fprintf(stderr, "meterctl export: %s\n", opened.status().message().c_str());
        return kExitFailure;
    }
    auto tip = audit::ChainReader(*(*opened)->kv).Tip();
    if (!tip.ok() || !*tip) {
        std::fprintf(stderr, "meterctl export: %s\n",
                     tip.ok() ? "the store holds no chain (no tip record)"
                              : tip.status().message().c_str());
        return kExitFailure;
    }
    audit::ExportOptions options;
    options.format = format_name == "csv" ? audit::ExportFormat::kCsv : audit::ExportFormat::kJsonl;
    auto from = flags.Number("from", 0, 0, UINT64_MAX);
    auto to = flags.Number("to", (*tip)->height, 0, UINT64_MAX);
    if (!from.ok() || !to.ok()) {
        std::fprintf(stderr, "meterctl export: %s\n",
                     (!from.ok() ? from.status() : to.status()).message().c_str());
        return kExitUsage;
    }
    options.from = *from;
    options.to = *to;
    if (options.from > options.to || options.to > (*tip)->height) {
        std::fprintf(stderr, "meterctl export: heights %llu..%llu are not within 0..%llu (the tip)\n",
                     (unsigned long long)options.from, (unsigned long long)options.to,
                     (unsigned long long)(*tip)->height);
        return kExitUsage;
    }
    std::ofstream file;
    std::ostream* out = &std::cout;
    if (auto path = flags.Get("out")) {
        file.open(*path, std::ios::out | std::ios::trunc);
        if (!file) {
            std::fprintf(stderr, "meterctl export: cannot write %s\n", path->c_str());
            return kExitFailure;
        }
        out = &file;
    }
    auto counts = audit::Export(*(*opened)->kv, options, *out);
    if (!counts.ok()) {
        std::fprintf(stderr, "meterctl export: %s\n", counts.status().message().c_str());
        return kExitFailure;
    }
    say("heights " + std::to_string(options.from) + ".." + std::to_string(options.to) + ": " +
        std::to_string(counts->blocks) + " blocks, " + std::to_string(counts->transactions) +
        " transactions, " + std::to_string(counts->validity_results) +
        " Validity result sets (" + format_name + ")");
    return kExitOk;
}

}  // namespace meterchain::tools
