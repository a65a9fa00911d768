// cli/smimectl_main: the administrator's tool. Parses the global -c option
// and dispatches to a subcommand; usage errors exit 64.
#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/defaults.h"
#include "cli/commands.h"

namespace {

const char kUsage[] =
    "usage: smimectl [-c FILE] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  process [--inbound|--outbound] [--from ADDR] [--rcpt ADDR]... [--client-ip IP]\n"
    "          [--sasl-user NAME] [--queue-id ID] [--now EPOCH] [--report] [FILE|-]\n"
    "      run one message through the engine exactly as the milter would; the\n"
    "      resulting message goes to stdout, the log line to stderr. Exit status:\n"
    "      0 accepted, 75 tempfail, 77 reject, 78 config error, 70 internal, 64 usage\n"
    "  config check     check the configuration (and trust anchors) and exit\n"
    "  config dump      print every parameter with its value and where it was set\n"
    "  config doc       print the parameter reference (Markdown)\n"
    "  revocation check [--now EPOCH] CERT.pem\n"
    "                   build the chain of CERT.pem (leaf, then intermediates) and\n"
    "                   print each certificate's revocation status and source;\n"
    "                   exit 0 good, 2 revoked, 3 unknown or untrusted\n"
    "  policy explain ADDRESS\n"
    "                   the per-domain policy that applies to ADDRESS and the\n"
    "                   file:line that set each value\n"
    "  crl fetch        refresh every cached CRL (for a timer); exit 75 on failures\n"
    "  bench [-n N] [--now EPOCH] [--outbound --sasl-user LOGIN [--rcpt ADDR]...]\n"
    "        [--compare-raw --raw-key KEY.pem [--raw-op sign|verify] [--rounds R]]\n"
    "        [--thread-per-message] FILE...\n"
    "                   run the engine N times per message (verification, or\n"
    "                   signing with --outbound); print messages/s\n"
    "  bench --store SPEC [--store SPEC]... [-n N] [--now EPOCH] --rcpt ADDR...\n"
    "                   RCPT-time certificate lookups through each store; print\n"
    "                   lookups/s (compare sqlite with postgresql:...)\n"
    "  cert import FILE.p12 [--passphrase-file FILE] [--out-dir DIR] [--address ADDR]\n"
    "          [--force] [--decryption]\n"
    "      write ADDR.crt (certificate, chain) and ADDR.key (mode 0600) from a\n"
    "      PKCS#12 bundle (legacy RC2/3DES ones too) into DIR (default: the folder\n"
    "      of signing_identities) and print the line for the identities file;\n"
    "      --decryption: ADDR.SERIAL.crt/.key and the line for decryption_keys\n"
    "  cert add FILE.pem [--address ADDR]   store a recipient certificate (admin)\n"
    "  cert list [ADDR] [--expiring DAYS]   stored recipient certificates (expiring\n"
    "                   within DAYS, or expired; then anchors and identities that do)\n"
    "  cert remove ADDR [FINGERPRINT]       forget stored certificates\n"
    "  cert lookup ADDR [--now EPOCH]       the certificate mail to ADDR would be\n"
    "                   encrypted to, and why others are not used; exit 3 if none\n"
    "  store init|migrate|check [SPEC]\n"
    "                   create or migrate the certificate store's schema, or check\n"
    "                   it; SPEC: sqlite, sqlite:FILE or postgresql:CONNINFO\n"
    "                   (default: certificate_store); exit 75 unreachable\n"
    "  store copy FROM TO   copy every certificate of store FROM into TO\n"
    "  reload [--wait SECONDS]\n"
    "                   reload the running daemon (SIGUSR1, pid from pid_file) and\n"
    "                   wait for its answer: exit 0 reloaded, 1 refused (reason\n"
    "                   printed; the running configuration stays), 69 no daemon,\n"
    "                   75 no answer within SECONDS (default 60)\n"
    "  status           is the daemon running (pid_file), its last reload and its\n"
    "                   counters (metrics_file); exit 0 running, 69 not\n"
    "  version          print the version (also --version)\n"
    "\n"
    "-c FILE defaults to " SMIME_DEFAULT_CONFIG "\n";

}  // namespace

int main(int argc, char** argv) {
  // As smime-milter does: message-sized buffers are mapped and given back
  // when freed, not kept in the heap (docs/performance.md).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  std::string config = SMIME_DEFAULT_CONFIG;
  int i = 1;
  for (; i < argc; ++i) {
    if (std::strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
      config = argv[++i];
    } else if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
      std::fputs(kUsage, stdout);
      return smime::kExitOk;
    } else {
      break;
    }
  }
  if (i >= argc) {
    std::fputs(kUsage, stderr);
    return smime::kExitUsage;
  }
  std::string cmd = argv[i++];
  std::vector<std::string> args(argv + i, argv + argc);
  try {
    if (cmd == "process") return smime::ProcessCommand(config, args);
    if (cmd == "config") return smime::ConfigCommand(config, args);
    if (cmd == "revocation") return smime::RevocationCommand(config, args);
    if (cmd == "crl") return smime::CrlCommand(config, args);
    if (cmd == "policy") return smime::PolicyCommand(config, args);
    if (cmd == "bench") return smime::BenchCommand(config, args);
    if (cmd == "cert") return smime::CertCommand(config, args);
    if (cmd == "store") return smime::StoreCommand(config, args);
    if (cmd == "reload") return smime::ReloadCommand(config, args);
    if (cmd == "status") return smime::StatusCommand(config, args);
    if (cmd == "version" || cmd == "--version") {
      std::printf("smimectl %s\n", PACKAGE_VERSION);
      return smime::kExitOk;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "smimectl: panic: %s\n", e.what());
    return smime::kExitInternal;
  }
  std::fprintf(stderr, "smimectl: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return smime::kExitUsage;
}
