// Real meterchaind processes on 127.0.0.1 for end-to-end tests: generated keys, certificates
// and configs in a temporary directory, start/kill/restart of each node, clients, and
// condition waits with deadlines. The destructor kills every process and removes the files.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "node/client/client.h"
#include "node/config/cluster_init.h"
#include "proto/config.pb.h"

namespace meterchain::e2e {

using Clock = std::chrono::steady_clock;
inline Clock::time_point In(std::chrono::milliseconds d) { return Clock::now() + d; }


// What chain a TestCluster runs (the defaults: the provincial chain of deploy/genesis.json).
struct ClusterSpec {
    int nodes = 4;
    std::string chain_id = "e2e-chain";
    std::string genesis_file;        // default deploy/genesis.json
    std::vector<std::string> names;  // an upper chain's node names (ClusterOptions::names)
};

class TestCluster {
public:
    // Generates an n-node cluster; `edit` may change each node's config before it is written.
    explicit TestCluster(int nodes,
                         const std::function<void(int, v1::NodeConfig&)>& edit = {});
    explicit TestCluster(const ClusterSpec& spec,
                         const std::function<void(int, v1::NodeConfig&)>& edit = {});
    ~TestCluster();
    TestCluster(const TestCluster&) = delete;
    TestCluster& operator=(const TestCluster&) = delete;

    int size() const { return static_cast<int>(m_summary.nodes.size()); }
    const config::ClusterSummary& summary() const { return m_summary; }
    const std::string& dir() const { return m_dir; }
    std::string ConfigPath(int i) const { return m_summary.nodes[i].config_file; }
    std::string LogPath(int i) const;
    std::string chain_id() const { return m_chain_id; }

    void StartAll();
    void Start(int i);              // spawns meterchaind; returns at once
    // Start with a file-size limit (RLIMIT_FSIZE, bytes) on the process: writes beyond it fail
    // as on a full disk.
    void StartWithFileSizeLimit(int i, uint64_t bytes);
    // Waits for node i to exit by itself; its exit code, or -1 (killed by a signal, or still
    // running at the deadline: then it is killed).
    int WaitExit(int i, Clock::time_point deadline);
    pid_t Pid(int i) const { return m_pids[i]; }
    void Kill(int i);               // SIGKILL and reap
    bool Terminate(int i);          // SIGTERM; true when it exited 0 in time
    bool Running(int i) const { return m_pids[i] > 0; }
    bool WaitUp(int i, Clock::time_point deadline);
    bool WaitAllUp(Clock::time_point deadline);
    // Every running node (or those listed) at height >= h.
    bool WaitHeight(uint64_t h, Clock::time_point deadline, std::vector<int> nodes = {});
    client::Client& client(int i) { return *m_clients[i]; }
    // Reads a node's log (for refused-peer messages etc.).
    std::string ReadLog(int i) const;
    // Waits until node i's log contains `text` (woken by the log growing) or the deadline.
    bool WaitForLog(int i, const std::string& text, Clock::time_point deadline) const;
    // The last `max` warn/error lines of every node's log (for failure messages).
    std::string Problems(size_t max = 20) const;

private:
    std::string m_dir;
    std::string m_chain_id;
    config::ClusterSummary m_summary;
    std::vector<pid_t> m_pids;
    std::vector<std::unique_ptr<client::Client>> m_clients;
};

// Ports base..base+2n-1 free on 127.0.0.1 right now.
uint32_t FindFreePortRange(int count);

}  // namespace meterchain::e2e

namespace meterchain::e2e {
// Runs a command line, returns its exit code and (merged) output.
int RunCommand(const std::string& command, std::string* output);
// Paths of the built tools and the source tree.
std::string MeterctlPath();
std::string MeterchaindPath();
std::string SourceDir();
}  // namespace meterchain::e2e
