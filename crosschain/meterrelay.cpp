// meterrelay: anchors a lower chain's committed blocks on the chain above it.
//   meterrelay --config relay.json
// relay.json is a RelayConfig (proto/crosschain.proto) in its JSON form. Stops on SIGTERM or
// SIGINT. Logs one line per anchor with the anchor lag (docs/CROSSCHAIN.md).
#include <google/protobuf/util/json_util.h>
#include <signal.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "crosschain/relay.h"
#include "node/base/log.h"
#include "node/crypto/signer.h"
#include "node/crypto/sm.h"
#include "proto/crosschain.pb.h"

namespace {

constexpr const char* kUsage =
    "usage: meterrelay --config relay.json\n"
    "\n"
    "Follows a lower chain's committed blocks (StreamCommits on its client API) and anchors\n"
    "them on the upper chain's anchor contract, one anchor per batchBlocks blocks or batchMs\n"
    "milliseconds, whichever comes first. Keeps no state: on start it reads the last anchored\n"
    "height from the upper chain and resumes after it. Several relays may run at once.\n"
    "\n"
    "relay.json (proto3 JSON of RelayConfig, proto/crosschain.proto):\n"
    "  sourceNodes     lower chain client addresses, e.g. [\"127.0.0.1:7701\", ...]\n"
    "  upperNodes      upper chain client addresses\n"
    "  keyFile         the relay's SM2 private key (PEM, mode 0600; meterctl keygen)\n"
    "  batchBlocks     blocks per anchor (default 16)\n"
    "  batchMs         longest wait before anchoring what arrived (default 1000)\n"
    "  commitTimeoutMs how long to wait for an anchor to commit (default 10000)\n"
    "  name            name in log lines (default relay)\n"
    "  logLevel        debug | info | warn | error (default info)\n"
    "\n"
    "exit codes: 0 stopped by a signal, 1 could not start, 2 bad command line\n";

std::string ReadAll(const std::string& path, bool* ok) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    *ok = static_cast<bool>(in);
    return ss.str();
}

int Fail(const std::string& message) {
    std::fprintf(stderr, "meterrelay: %s\n", message.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace meterchain;
    std::string config_path;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (a == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            config_path = a.substr(9);
        } else {
            std::fprintf(stderr, "meterrelay: unknown argument '%s'\n\n%s", a.c_str(), kUsage);
            return 2;
        }
    }
    if (config_path.empty()) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    bool ok = false;
    const std::string text = ReadAll(config_path, &ok);
    if (!ok) return Fail("cannot read " + config_path);
    v1::RelayConfig cfg;
    google::protobuf::util::JsonParseOptions po;
    po.ignore_unknown_fields = false;
    if (auto st = google::protobuf::util::JsonStringToMessage(text, &cfg, po); !st.ok()) {
        return Fail(config_path + ": " + std::string(st.message()));
    }
    LogLevel level = LogLevel::kInfo;
    if (!cfg.log_level().empty() && !ParseLogLevel(cfg.log_level(), level)) {
        return Fail(config_path + ": logLevel must be debug, info, warn or error");
    }
    SetLogLevel(level);
    if (cfg.key_file().empty()) return Fail(config_path + ": keyFile is required");
    // A key file others can read is refused, like the node does with its own.
    std::string key_path = cfg.key_file();
    if (key_path[0] != '/') {
        const size_t slash = config_path.rfind('/');
        if (slash != std::string::npos) key_path = config_path.substr(0, slash + 1) + key_path;
    }
    struct stat info {};
    if (stat(key_path.c_str(), &info) != 0) return Fail("cannot read key file " + key_path);
    if ((info.st_mode & 077) != 0) {
        return Fail("key file " + key_path + " is readable by others (chmod 600 it)");
    }
    const std::string pem = ReadAll(key_path, &ok);
    if (!ok) return Fail("cannot read key file " + key_path);
    auto key = crypto::Sm2PrivateKey::FromPem(pem);
    if (!key.ok()) return Fail("key file " + key_path + ": " + key.status().message());

    crosschain::RelayOptions options;
    options.source_nodes.assign(cfg.source_nodes().begin(), cfg.source_nodes().end());
    options.upper_nodes.assign(cfg.upper_nodes().begin(), cfg.upper_nodes().end());
    if (cfg.batch_blocks() != 0) options.batch_blocks = cfg.batch_blocks();
    if (cfg.batch_ms() != 0) options.batch_ms = cfg.batch_ms();
    if (cfg.commit_timeout_ms() != 0) options.commit_timeout_ms = cfg.commit_timeout_ms();
    if (!cfg.name().empty()) options.name = cfg.name();
    auto signer = std::make_shared<crypto::Sm2Signer>(std::move(*key));
    crosschain::Relay relay(options, signer);

    // Signals are taken by one thread with sigwait; every other thread blocks them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::thread waiter([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        relay.Stop();
    });
    Status st = relay.Run();
    if (!st.ok()) {
        std::fprintf(stderr, "meterrelay: %s\n", st.message().c_str());
        kill(getpid(), SIGTERM);  // releases the waiter
        waiter.join();
        return 1;
    }
    waiter.join();
    return 0;
}
