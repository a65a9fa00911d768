// base/defaults: build-time defaults shared by the programs.
#ifndef SMIME_BASE_DEFAULTS_H_
#define SMIME_BASE_DEFAULTS_H_

// Set by Makefile.am from $(sysconfdir); this fallback serves builds
// outside automake.
#ifndef SMIME_DEFAULT_CONFIG
#define SMIME_DEFAULT_CONFIG "/etc/smime-milter/smime-milter.conf"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

#endif  // SMIME_BASE_DEFAULTS_H_
