// meterctl: the operator and client command line of meterchain.
//   meterctl <command> [--flag value ...]
//   meterctl help [command]
// Subcommands are rows of kCommands; see meterctl_commands.h to add one.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "node/tools/meterctl_commands.h"

namespace meterchain::tools {
namespace {

struct Command {
    std::string_view name;
    std::string_view summary;
    std::vector<FlagSpec> flags;
    int (*run)(const Flags&);
    std::string_view details = {};  // printed by `meterctl help <command>` after the flags
    // A flag that may also be given as the first bare argument ("calibration watch ORDER").
    std::string_view positional = {};
};

const std::vector<Command>& Commands() {
    static const std::vector<Command> kCommands = {
        {"keygen",
         "generate an SM2 signing key (PKCS#8 PEM, mode 0600) and print its public key",
         {{"out", "FILE", "where to write the private key (never overwritten)"}},
         RunKeygen},
        {"init-cluster",
         "create CA, keys, certificates, node configs and genesis for a local cluster",
         {{"nodes", "N", "number of validators (n >= 4 tolerates a faulty node)"},
          {"out", "DIR", "output directory (must not exist, or be empty)"},
          {"base-port", "P", "node i listens on P+2i (peers) and P+2i+1 (clients); "
                             "with --hosts every node on P and P+1; default 7700"},
          {"chain-id", "ID", "chain id; default tianjin-meter-1"},
          {"genesis", "FILE", "genesis JSON whose organisations get the public keys"},
          {"host", "HOST", "listen and advertised host of every node; default 127.0.0.1"},
          {"names", "LIST", "comma-separated node (= organisation) names, one per node, for "
                            "an upper chain (role main-chain); default the Tianjin four"},
          {"hosts", "H0,H1,..", "each node's own host (container, pod, namespace): its "
                                "peer address, peer bind host and certificate name"},
          {"client-listen-host", "HOST", "bind the client API (and gateway) here instead, "
                                         "e.g. 0.0.0.0"},
          {"gateway-port", "P", "turn the HTTP gateway on at this port (one host: P+i), "
                                "without credentials"}},
         RunInitCluster,
         "With --hosts, peers reach node i at Hi:P only; the client API listens on Hi:P+1 or\n"
         "on --client-listen-host. Gateway credentials for the verification query are added\n"
         "to node.json afterwards (docs/GATEWAY.md).\n"},
        {"status",
         "show a node's height, view, primary, mempool and peer connections",
         {{"node", "ADDR", "client address of the node; default 127.0.0.1:7701"}},
         RunStatus},
        {"put",
         "submit a signed key/value transaction and wait for its commit",
         {{"node", "ADDR", "client address of the node; default 127.0.0.1:7701"},
          {"key-file", "FILE", "SM2 private key of the sender"},
          {"key", "KEY", "state key (stored under kv/)"},
          {"value", "TEXT", "value"},
          {"nonce", "N", "nonce; default: the sender's last committed nonce + 1"}},
         RunPut},
        {"get-tx",
         "show a transaction's status (pending, committed at height, failed with reason)",
         {{"node", "ADDR", "client address of the node; default 127.0.0.1:7701"},
          {"hash", "HEX", "transaction hash (64 hex characters)"},
          {"json", "", "print one JSON object (code as a gRPC status code)"}},
         RunGetTx},
        {"get-block",
         "show a block header and its commit certificate",
         {{"node", "ADDR", "client address of the node; default 127.0.0.1:7701"},
          {"height", "H", "block height; default the latest"},
          {"json", "", "print one JSON object (time also in Unix milliseconds)"}},
         RunGetBlock},
        {"load",
         "submit N signed transactions from a fresh key and wait for all of them; a failed "
         "submission or wait is retried on the next node",
         {{"node", "ADDR[,ADDR...]", "client addresses of nodes; default 127.0.0.1:7701"},
          {"count", "N", "number of transactions; default 1000"},
          {"rate", "R", "send at R tx/s (default 0: as fast as the node answers)"}},
         RunLoad},
        {"demo",
         "take the sample data through a running local cluster (Validity contract) and print "
         "the result set",
         {{"dir", "DIR", "cluster directory written by init-cluster (holds the org keys)"},
          {"data", "DIR", "sample data directory; default test/data"},
          {"records", "N", "verification results to upload; default 20"}},
         RunDemo},
        {"secdata-upload",
         "upload records as an organisation through Validity; digest-only content is kept in "
         "its node's off-chain vault (<data_dir>/offchain) for secure reads",
         {{"config", "FILE", "node.json of the uploading organisation (key, node, data_dir)"},
          {"type", "TYPE", "record type, e.g. RECORD_SAMPLING"},
          {"json", "RECORD", "one record in its JSON form"},
          {"file", "FILE", "records in JSON lines (instead of --json)"},
          {"cosign", "FILES", "comma-separated node.json files of co-signing validators"},
          {"batch", "ID", "batch id; default <org>-<time>"},
          {"node", "ADDR", "client address; default the config's client_listen"}},
         RunSecdataUpload},
        {"secdata-credential",
         "issue (or --revoke) an access credential of the data owner for a requester",
         {{"config", "FILE", "node.json of the owner organisation"},
          {"id", "ID", "credential id"},
          {"grantee", "ORG", "requester organisation"},
          {"types", "TYPES", "comma-separated record types in scope"},
          {"prefix", "P", "only record ids starting with P; default any"},
          {"max-class", "CLASS", "CLASS_SHARED or CLASS_INTERNAL (default)"},
          {"valid-ms", "N", "valid for N ms from now; default one day"},
          {"revoke", "", "revoke credential --id instead"},
          {"json", "", "print the result as one JSON object (expiry also in Unix ms)"},
          {"node", "ADDR", "client address; default the config's client_listen"}},
         RunSecdataCredential},
        {"secdata-request",
         "read another organisation's record: one-time key, grant, delivery by the owner's "
         "node, decryption and SM3 check against the chain",
         {{"config", "FILE", "node.json of the requesting organisation"},
          {"type", "TYPE", "record type"},
          {"id", "ID", "record id (key fields joined with '|')"},
          {"credential", "ID", "credential issued by the owner"},
          {"timeout-ms", "N", "how long to wait for the delivery; default 30000"},
          {"node", "ADDR", "client address; default the config's client_listen"}},
         RunSecdataRequest},
        {"replay",
         "re-execute a node's stored chain from genesis offline and check every hash, "
         "signature, certificate, receipt and state root (docs/AUDITING.md)",
         {{"data-dir", "DIR", "the node's data_dir (or its chain/ LevelDB); a running node's "
                              "is read through a temporary copy"},
          {"config", "FILE", "node.json naming the genesis file and validator set; default "
                             "node.json beside DIR"},
          {"to", "H", "stop after height H; default the tip"},
          {"jobs", "N", "signature-checking threads; default all cores"},
          {"json", "", "print the result as one JSON object"},
          {"copy", "", "always read a copy of the database, even when no node holds it"},
          {"probe", "", "measure the cores' verification rate before and after, and report "
                        "the replay's share of it"}},
         RunReplay,
         "checks per block: block-record, block-height, genesis, hash-link, header-hash,\n"
         "tx-root, tx-signature, certificate, execution, state-root, receipt; at the tip:\n"
         "tip, stored-state. The first failure stops the replay and names the height, the\n"
         "transaction if any, the check, and the expected and actual values.\n"
         "exit codes:\n"
         "  0  every check passed\n"
         "  1  the replay could not run (unreadable data dir or config, no chain, I/O error)\n"
         "  2  bad command line (unknown flag, --to above the tip)\n"
         "  3  the chain fails a check (the mismatch is printed)\n"},
        {"export",
         "write blocks, transactions, receipts and Validity result sets of a node's stored "
         "chain as JSON lines or CSV (ciphertext stays ciphertext)",
         {{"data-dir", "DIR", "the node's data_dir (or its chain/ LevelDB)"},
          {"from", "H", "first height; default 0"},
          {"to", "H", "last height; default the tip"},
          {"format", "F", "jsonl (default) or csv"},
          {"out", "FILE", "write here instead of stdout"},
          {"copy", "", "always read a copy of the database"}},
         RunExport,
         "exit codes: 0 written, 1 failed (unreadable store, missing block), 2 bad command "
         "line\n"},
        {"error-model",
         "estimate every meter's error in a transformer area (area.jsonl) and print JSON; "
         "--submit signs and submits the results",
         {{"area", "FILE", "interval data of the area (docs/CALIBRATION.md, Input)"},
          {"class", "C", "accuracy class of every meter (2 = +-2%); default each meter's "
                         "asset record (--assets), else 2"},
          {"assets", "FILE", "the area's meter assets in column order (JSON lines, assetNo, "
                             "accuracyClass)"},
          {"submit", "", "submit the results to the chain (needs --assets and --config)"},
          {"config", "FILE", "node.json of the submitting organisation"},
          {"run-id", "ID", "run id; default run-<ms>"},
          {"area-id", "ID", "transformer area id stored with the results"},
          {"node", "ADDR", "client address; default the config's client_listen"}},
         RunErrorModel},
        {"calibration request",
         "file a user's calibration request for a meter (asset number); prints the answer",
         {{"config", "FILE", "node.json of the filing organisation (the service channel)"},
          {"asset", "NO", "the meter's asset number"},
          {"request", "NO", "request number; default REQ-<ms>"},
          {"channel", "NAME", "service channel; default 95598"},
          {"requester", "TEXT", "the requester (only its SM3 digest goes on chain)"},
          {"node", "ADDR", "client address; default the config's client_listen"}},
         RunCalibrationRequest},
        {"calibration accept",
         "accept a calibration work order",
         {{"config", "FILE", "node.json of the acting organisation"},
          {"order", "NO", "work order number"},
          {"channel", "NAME", "service channel"},
          {"node", "ADDR", "client address; default the config's client_listen"}},
         RunCalibrationAccept},
        {"calibration handle",
         "record the handling of a work order (handler, conclusion, verifying unit)",
         {{"config", "FILE", "node.json of the acting organisation"},
          {"order", "NO", "work order number"},
          {"handler", "NAME", "who handled it"},
          {"conclusion", "TEXT", "conclusion, e.g. 合格"},
          {"verifying-unit", "NAME", "verifying unit"},
          {"node", "ADDR", "client address; default the config's client_listen"}},
         RunCalibrationHandle},
        {"calibration evaluate",
         "record the follow-up visit and the customer's evaluation",
         {{"config", "FILE", "node.json of the acting organisation"},
          {"order", "NO", "work order number"},
          {"satisfaction", "S", "满意 | 基本满意 | 不满意"},
          {"opinion", "TEXT", "the customer's opinion"},
          {"visit-date", "DATE", "YYYY-MM-DD"},
          {"node", "ADDR", "client address; default the config's client_listen"}},
         RunCalibrationEvaluate},
        {"calibration close",
         "close a work order",
         {{"config", "FILE", "node.json of the acting organisation"},
          {"order", "NO", "work order number"},
          {"node", "ADDR", "client address; default the config's client_listen"}},
         RunCalibrationClose},
        {"calibration watch",
         "follow a work order live: one JSON line per transition, ends when it is closed",
         {{"order", "NO", "work order number"},
          {"node", "ADDR", "client address of the node; default 127.0.0.1:7701"}},
         RunCalibrationWatch, {}, "order"},
        {"calibration stats",
         "calibration-request supervision: totals, in progress, completed, mean handling time "
         "and alerts, as of the latest block",
         {{"node", "ADDR", "client address of the node; default 127.0.0.1:7701"},
          {"as-of-ms", "MS", "judge overdue orders at this block time; default the latest "
                             "block's"}},
         RunCalibrationStats},
        {"anchor-register",
         "register a lower chain (chain id, validators, genesis hash) on an upper chain's "
         "anchor contract through a governance proposal",
         {{"node", "ADDR", "client address of an upper-chain node"},
          {"key-file", "FILE", "SM2 key of an organisation of the upper chain (proposer)"},
          {"lower-config", "FILE", "node.json of a lower-chain node (chain id, validators)"},
          {"lower-node", "ADDR", "lower-chain client address; default the config's"},
          {"description", "TEXT", "what the lower chain is"}},
         RunAnchorRegister},
        {"governance-approve",
         "approve a governance proposal as an organisation (e.g. an anchor-register proposal "
         "on an upper chain of several organisations)",
         {{"node", "ADDR", "client address of a node of the chain"},
          {"key-file", "FILE", "SM2 key of the approving organisation"},
          {"proposal", "ID", "proposal id (hex of the proposing transaction's hash)"}},
         RunGovernanceApprove},
        {"anchor-status",
         "per registered lower chain: last anchored height and time, lag, anchors, stop",
         {{"node", "ADDR", "client address of an upper-chain node"},
          {"chain", "ID", "only this lower chain"},
          {"height", "H", "with --chain: the anchored header of height H and its anchor"},
          {"json", "", "print a JSON array"}},
         RunAnchorStatus},
        {"trust",
         "write trust.json (chain ids and validator public keys) from node configs",
         {{"configs", "FILES", "comma-separated node.json files, one per chain"},
          {"out", "FILE", "trust file to write"}},
         RunTrust},
        {"prove",
         "write a self-contained proof that a transaction is committed and anchored on the "
         "chains above (docs/CROSSCHAIN.md)",
         {{"tx", "HEX", "transaction hash"},
          {"node", "ADDR", "client address of a node of the transaction's chain"},
          {"upper", "ADDRS", "comma-separated client addresses: main chain, then alliance"},
          {"out", "FILE", "proof file to write"},
          {"wait-ms", "N", "wait this long for anchors to appear; default 30000"}},
         RunProve},
        {"verify-proof",
         "check a proof file offline against trusted validator keys, step by step",
         {{"file", "FILE", "the proof (also as the first argument)"},
          {"trust", "FILE", "trust.json (meterctl trust)"}},
         RunVerifyProof,
         "exit codes: 0 valid, 1 could not run, 2 bad command line, 3 invalid (the failing\n"
         "step is named)\n",
         "file"},
        // Two-word commands ("sampling plan"): the second word selects the subcommand.
        {"sampling plan",
         "GB/T 2828.1 single sampling plan for a lot (computed locally), as JSON",
         {{"lot", "N", "lot size (>= 2)"},
          {"level", "L", "inspection level S-1..S-4, I, II (default), III"},
          {"aql", "AQL", "acceptance quality limit, e.g. 1.0"},
          {"severity", "S", "normal (default), tightened or reduced"}},
         RunSamplingPlan},
        {"sampling create",
         "store a sampling plan for an arrival batch on chain (regulator), print it as JSON",
         {{"config", "FILE", "node.json of the regulator (its key and node)"},
          {"plan", "ID", "plan id"},
          {"batch", "NO", "arrival batch number"},
          {"level", "L", "inspection level; default II"},
          {"aql", "AQL", "acceptance quality limit, e.g. 1.0"},
          {"lot", "N", "lot size; default the batch's verified count"},
          {"node", "ADDR", "client address of a node; default 127.0.0.1:7701"}},
         RunSamplingCreate},
        {"sampling draw",
         "draw a plan's sample: chosen bar codes and/or a deterministic random fill",
         {{"config", "FILE", "node.json of the regulator (its key and node)"},
          {"plan", "ID", "plan id"},
          {"bar-codes", "LIST", "comma-separated bar codes chosen by the regulator"},
          {"random", "", "fill the rest at random from the batch (data re-check)"},
          {"meters", "FILE", "meters JSON lines to print the sample's bar codes"},
          {"node", "ADDR", "client address of a node; default 127.0.0.1:7701"}},
         RunSamplingDraw},
        {"sampling import",
         "import physical re-check results (JSON lines: barCode, veriResult, conclusions)",
         {{"config", "FILE", "node.json of the regulator (its key and node)"},
          {"plan", "ID", "plan id"},
          {"batch", "NO", "arrival batch number (must be the plan's)"},
          {"file", "FILE", "re-check results, one JSON object per line"},
          {"node", "ADDR", "client address of a node; default 127.0.0.1:7701"}},
         RunSamplingImport},
        {"sampling show",
         "print a stored plan, its sample and its re-check report as JSON",
         {{"plan", "ID", "plan id"}, {"node", "ADDR", "client address of a node; default 127.0.0.1:7701"}},
         RunSamplingShow},
        {"supervision overview",
         "verification overview: full inspection and sampling, TOP10 failing items, alerts",
         {{"node", "ADDR", "client address of a node; default 127.0.0.1:7701"}},
         RunSupervisionOverview},
        {"supervision batch",
         "an arrival batch: pass rate, re-checks, out of tolerance, first verification failed",
         {{"batch", "NO", "arrival batch number"}, {"node", "ADDR", "client address of a node; default 127.0.0.1:7701"}},
         RunSupervisionBatch},
        {"supervision alerts",
         "supervision alerts, all or those addressed to one organisation",
         {{"org", "ORG", "addressee organisation; default all"}, {"node", "ADDR", "client address of a node; default 127.0.0.1:7701"}},
         RunSupervisionAlerts},
        {"supervision out-of-tolerance",
         "evaluation runs, replacement orders, quality per manufacturer and supply station",
         {{"year", "YYYY", "year for 'over 8 years in service'; default the last block's"},
          {"node", "ADDR", "client address of a node; default 127.0.0.1:7701"}},
         RunSupervisionOutOfTolerance},
        {"supervision switching",
         "the switching-rule state (normal/tightened/reduced) of a manufacturer's lots",
         {{"manufacturer", "M", "manufacturer"}, {"node", "ADDR", "client address of a node; default 127.0.0.1:7701"}},
         RunSupervisionSwitching},
    };
    return kCommands;
}

void PrintUsage(std::FILE* to) {
    std::fprintf(to, "usage: meterctl <command> [flags]\n\ncommands:\n");
    for (const Command& c : Commands()) {
        std::fprintf(to, "  %-28s %.*s\n", std::string(c.name).c_str(),
                     static_cast<int>(c.summary.size()), c.summary.data());
    }
    std::fprintf(to, "\nmeterctl help <command> describes its flags.\n");
}

void PrintCommandUsage(std::FILE* to, const Command& c) {
    std::fprintf(to, "usage: meterctl %.*s", static_cast<int>(c.name.size()), c.name.data());
    for (const FlagSpec& f : c.flags) {
        std::fprintf(to, " [--%s%s%s]", f.name.c_str(), f.value_name.empty() ? "" : " ",
                     f.value_name.c_str());
    }
    std::fprintf(to, "\n  %.*s\n", static_cast<int>(c.summary.size()), c.summary.data());
    for (const FlagSpec& f : c.flags) {
        const std::string flag = "--" + f.name + (f.value_name.empty() ? "" : " " + f.value_name);
        std::fprintf(to, "  %-18s %s\n", flag.c_str(), f.help.c_str());
    }
    if (!c.details.empty()) {
        std::fprintf(to, "\n%.*s", static_cast<int>(c.details.size()), c.details.data());
    }
}

const Command* Find(std::string_view name) {
    for (const Command& c : Commands()) {
        if (c.name == name) return &c;
    }
    return nullptr;
}

int Main(const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        PrintUsage(args.empty() ? stderr : stdout);
        return args.empty() ? kExitUsage : kExitOk;
    }
    if (args[0] == "help") {
        if (args.size() < 2) {
            PrintUsage(stdout);
            return kExitOk;
        }
        const Command* c = args.size() >= 3 ? Find(args[1] + " " + args[2]) : nullptr;
        if (!c) c = Find(args[1]);
        if (!c) {
            std::fprintf(stderr, "meterctl: unknown command \"%s\"\n", args[1].c_str());
            return kExitUsage;
        }
        PrintCommandUsage(stdout, *c);
        return kExitOk;
    }
    // Two-word commands ("calibration watch") are tried before one-word ones.
    const Command* command = nullptr;
    size_t words = 1;
    if (args.size() >= 2) command = Find(args[0] + " " + args[1]);
    if (command) {
        words = 2;
    } else {
        command = Find(args[0]);
    }
    if (!command) {
        std::fprintf(stderr, "meterctl: unknown command \"%s\"\n\n", args[0].c_str());
        PrintUsage(stderr);
        return kExitUsage;
    }
    std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(words), args.end());
    // A command with a positional argument ("calibration watch ORDER") takes it as that flag.
    if (!command->positional.empty() && !rest.empty() && rest[0].rfind("--", 0) != 0) {
        rest.insert(rest.begin(), "--" + std::string(command->positional));
    }
    for (const std::string& a : rest) {
        if (a == "--help" || a == "-h") {
            PrintCommandUsage(stdout, *command);
            return kExitOk;
        }
    }
    auto flags = Flags::Parse(rest, command->flags);
    if (!flags.ok()) {
        std::fprintf(stderr, "meterctl %s: %s\n\n", std::string(command->name).c_str(),
                     flags.status().message().c_str());
        PrintCommandUsage(stderr, *command);
        return kExitUsage;
    }
    return command->run(*flags);
}

}  // namespace
}  // namespace meterchain::tools

int main(int argc, char** argv) {
    // The CLI boundary: nothing below throws by design, but an unexpected exception (out of
    // memory, a library) becomes a message and an exit code rather than std::terminate.
    try {
        return meterchain::tools::Main(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "meterctl: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "meterctl: unknown error\n");
    }
    return meterchain::tools::kExitFailure;
}
