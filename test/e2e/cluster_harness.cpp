#include "test/e2e/cluster_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "node/base/process.h"
#include "node/config/files.h"

namespace meterchain::e2e {
namespace {

bool PortFree(uint32_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

void Fail(const std::string& what) { throw std::runtime_error(what); }

}  // namespace

namespace {

int MsLeft(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

uint32_t FindFreePortRange(int count) {
    std::random_device rd;
    std::mt19937 rng(rd() ^ static_cast<unsigned>(getpid()));
    // Below the kernel's ephemeral range (32768+): a client reconnecting to a dead node must never
    // be handed that node's port as its own source port (TCP self-connect would then hold it).
    std::uniform_int_distribution<uint32_t> pick(10000, 32000);
    for (int attempt = 0; attempt < 200; ++attempt) {
        const uint32_t base = pick(rng);
        bool ok = true;
        for (int i = 0; i < count && ok; ++i) ok = PortFree(base + static_cast<uint32_t>(i));
        if (ok) return base;
    }
    Fail("no free port range on 127.0.0.1");
    return 0;
}

TestCluster::TestCluster(int nodes, const std::function<void(int, v1::NodeConfig&)>& edit)
    : TestCluster(ClusterSpec{nodes, "e2e-chain", "", {}}, edit) {}

TestCluster::TestCluster(const ClusterSpec& spec,
                         const std::function<void(int, v1::NodeConfig&)>& edit) {
    const int nodes = spec.nodes;
    static std::atomic<int> counter{0};
    m_dir = (std::filesystem::temp_directory_path() /
             ("meterchain-e2e-" + std::to_string(getpid()) + "-" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(m_dir);
    config::ClusterOptions opt;
    opt.nodes = nodes;
    opt.out_dir = m_dir;
    opt.base_port = FindFreePortRange(2 * nodes);
    opt.chain_id = spec.chain_id;
    opt.genesis_file =
        spec.genesis_file.empty() ? MC_SOURCE_DIR "/deploy/genesis.json" : spec.genesis_file;
    opt.names = spec.names;
    m_chain_id = opt.chain_id;
    auto summary = config::InitCluster(opt);
    if (!summary.ok()) Fail("init-cluster: " + summary.status().ToString());
    m_summary = std::move(*summary);
    for (int i = 0; i < nodes; ++i) {
        auto text = config::ReadFileToString(m_summary.nodes[i].config_file);
        if (!text.ok()) Fail(text.status().ToString());
        v1::NodeConfig cfg;
        if (!google::protobuf::util::JsonStringToMessage(*text, &cfg).ok()) Fail("config json");
        // Faster failure detection than the production default keeps the tests short.
        cfg.mutable_consensus()->set_view_change_timeout_ms(1000);
        if (edit) edit(i, cfg);
        std::string json;
        google::protobuf::util::JsonPrintOptions po;
        po.add_whitespace = true;
        po.preserve_proto_field_names = true;
        (void)google::protobuf::util::MessageToJsonString(cfg, &json, po);
        std::ofstream(m_summary.nodes[i].config_file, std::ios::trunc) << json;
        m_clients.push_back(std::make_unique<client::Client>(m_summary.nodes[i].client_address));
    }
    m_pids.assign(static_cast<size_t>(nodes), -1);
}

TestCluster::~TestCluster() {
    for (int i = 0; i < size(); ++i) {
        if (m_pids[i] > 0) Kill(i);
    }
    // MC_KEEP_TEST_DIRS=1 keeps the nodes' logs and data dirs for a look after a failure.
    if (const char* keep = std::getenv("MC_KEEP_TEST_DIRS"); keep && std::string(keep) == "1") {
        std::fprintf(stderr, "kept %s\n", m_dir.c_str());
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
}

std::string TestCluster::LogPath(int i) const { return m_summary.nodes[i].dir + "/meterchaind.log"; }

void TestCluster::StartAll() {
    for (int i = 0; i < size(); ++i) Start(i);
}

void TestCluster::Start(int i) { StartWithFileSizeLimit(i, 0); }

void TestCluster::StartWithFileSizeLimit(int i, uint64_t bytes) {
    if (m_pids[i] > 0) return;
    const std::string config = ConfigPath(i);
    const std::string log = LogPath(i);
    auto pid = base::SpawnProcess(MC_METERCHAIND_PATH, {"meterchaind", "--config", config}, log,
                                 bytes);
    if (!pid.ok()) Fail(pid.status().ToString());
    m_pids[i] = *pid;
}

void TestCluster::Kill(int i) {
    if (m_pids[i] <= 0) return;
    kill(m_pids[i], SIGKILL);
    int status = 0;
    waitpid(m_pids[i], &status, 0);
    m_pids[i] = -1;
}

int TestCluster::WaitExit(int i, Clock::time_point deadline) {
    if (m_pids[i] <= 0) return -1;
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, m_pids[i], 0));
    if (pidfd < 0) Fail("pidfd_open failed");
    pollfd pfd{pidfd, POLLIN, 0};
    const bool exited = poll(&pfd, 1, MsLeft(deadline)) == 1;
    close(pidfd);
    int status = 0;
    if (!exited || waitpid(m_pids[i], &status, 0) != m_pids[i]) {
        Kill(i);
        return -1;
    }
    m_pids[i] = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool TestCluster::Terminate(int i) {
    if (m_pids[i] <= 0) return true;
    kill(m_pids[i], SIGTERM);
    // A pidfd becomes readable when the process exits: poll() waits for exactly that.
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, m_pids[i], 0));
    if (pidfd < 0) Fail("pidfd_open failed");
    pollfd pfd{pidfd, POLLIN, 0};
    const bool exited = poll(&pfd, 1, MsLeft(In(std::chrono::seconds(10)))) == 1;
    close(pidfd);
    int status = 0;
    if (!exited || waitpid(m_pids[i], &status, 0) != m_pids[i]) {
        Kill(i);
        return false;
    }
    m_pids[i] = -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool TestCluster::WaitUp(int i, Clock::time_point deadline) {
    return m_clients[i]->WaitUntilUp(deadline);
}

bool TestCluster::WaitAllUp(Clock::time_point deadline) {
    for (int i = 0; i < size(); ++i) {
        if (Running(i) && !WaitUp(i, deadline)) return false;
    }
    return true;
}

bool TestCluster::WaitHeight(uint64_t h, Clock::time_point deadline, std::vector<int> nodes) {
    if (nodes.empty()) {
        for (int i = 0; i < size(); ++i) {
            if (Running(i)) nodes.push_back(i);
        }
    }
    for (int i : nodes) {
        if (!m_clients[i]->WaitForHeight(h, deadline)) return false;
    }
    return true;
}

bool TestCluster::WaitForLog(int i, const std::string& text, Clock::time_point deadline) const {
    // inotify wakes us whenever the log grows; each wake-up re-reads it.
    const int fd = inotify_init1(IN_CLOEXEC);
    if (fd < 0) Fail("inotify_init1 failed");
    const std::string path = LogPath(i);
    if (inotify_add_watch(fd, path.c_str(), IN_MODIFY) < 0) {
        close(fd);
        Fail("cannot watch " + path);
    }
    bool found = false;
    for (;;) {
        if (ReadLog(i).find(text) != std::string::npos) {
            found = true;
            break;
        }
        pollfd pfd{fd, POLLIN, 0};
        if (poll(&pfd, 1, MsLeft(deadline)) != 1) break;
        char events[4096];
        (void)read(fd, events, sizeof events);
    }
    close(fd);
    return found;
}

std::string TestCluster::ReadLog(int i) const {
    std::ifstream in(LogPath(i));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string TestCluster::Problems(size_t max) const {
    std::string out;
    for (int i = 0; i < size(); ++i) {
        std::vector<std::string> lines;
        std::istringstream in(ReadLog(i));
        for (std::string line; std::getline(in, line);) {
            if (line.find("level=warn") != std::string::npos ||
                line.find("level=error") != std::string::npos) {
                lines.push_back(line);
            }
        }
        const size_t from = lines.size() > max ? lines.size() - max : 0;
        for (size_t k = from; k < lines.size(); ++k) {
            out += "node" + std::to_string(i) + ": " + lines[k] + "\n";
        }
    }
    return out;
}

}  // namespace meterchain::e2e

namespace meterchain::e2e {

int RunCommand(const std::string& command, std::string* output) {
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return -1;
    char buf[4096];
    size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output->append(buf, n);
    const int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string MeterctlPath() { return MC_METERCTL_PATH; }
std::string MeterchaindPath() { return MC_METERCHAIND_PATH; }
std::string SourceDir() { return MC_SOURCE_DIR; }

}  // namespace meterchain::e2e
