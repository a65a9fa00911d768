// cli/commands: the subcommands of smimectl. Each returns the process exit
// status (see kExit* below, a stable interface used by external checks).
#ifndef SMIME_CLI_COMMANDS_H_
#define SMIME_CLI_COMMANDS_H_

#include <memory>
#include <string>
#include <vector>

namespace smime {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 64;
constexpr int kExitInternal = 70;
constexpr int kExitTempFail = 75;
constexpr int kExitReject = 77;
constexpr int kExitConfig = 78;

struct Runtime;

// Loads the configuration and builds the runtime; on failure prints
// "fatal: file:line: reason" to stderr and returns kExitConfig.
int LoadRuntime(const std::string& config_path, std::unique_ptr<Runtime>* rt);

// config_path: value of -c, or the built-in default when -c was not given.
int ProcessCommand(const std::string& config_path, const std::vector<std::string>& args);
int ConfigCommand(const std::string& config_path, const std::vector<std::string>& args);
int RevocationCommand(const std::string& config_path, const std::vector<std::string>& args);
int PolicyCommand(const std::string& config_path, const std::vector<std::string>& args);
int BenchCommand(const std::string& config_path, const std::vector<std::string>& args);
// `bench --store SPEC...`: lookups through each store (cli/store_bench.cc).
int StoreBenchCommand(const std::string& config_path, const std::vector<std::string>& args);
int CrlCommand(const std::string& config_path, const std::vector<std::string>& args);
// `reload [--wait S]`: signals the daemon and reports its answer
// (cli/reload_command.cc); exit 0 reloaded, 1 refused, 69 no daemon, 75 no answer.
int ReloadCommand(const std::string& config_path, const std::vector<std::string>& args);
// `status`: daemon running (pid file), last reload, metrics_file; exit 0
// running, 69 not.
int StatusCommand(const std::string& config_path, const std::vector<std::string>& args);
// `cert import FILE.p12 ...`: PKCS#12 to the PEM files of a signing identity.
// Exit 0 written, 64 usage, 78 (kExitConfig) when the import stops (unsafe or
// unreadable passphrase file, not PKCS#12, wrong passphrase, address not in
// the certificate, output file exists), 70 when the PEM cannot be encoded.
int CertCommand(const std::string& config_path, const std::vector<std::string>& args);
// `cert add|list|remove|lookup`: the recipient certificate directory
// (cli/certdir_command.cc); exit 3 when lookup finds nothing usable.
// `store init|migrate|check [SPEC]`, `store copy FROM TO` (cli/store_command.cc).
int StoreCommand(const std::string& config_path, const std::vector<std::string>& args);
int CertDirectoryCommand(const std::string& config_path, const std::string& sub,
                         const std::vector<std::string>& args);

}  // namespace smime

#endif  // SMIME_CLI_COMMANDS_H_
