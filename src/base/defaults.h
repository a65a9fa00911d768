// base/defaults: build-time defaults shared by the programs.
#ifndef SMIME_BASE_DEFAULTS_H_
#define SMIME_BASE_DEFAULTS_H_

// Set by Makefile.am from $(sysconfdir); this fallback serves builds
// outside automake.
#ifndef SMIME_DEFAULT_CONFIG
#define SMIME_DEFAULT_CONFIG "/etc/smime-milter/smime-milter.conf"
#endif
// The folders the parameter defaults name (config/params.cc): one
// configure-time location everywhere. $(sysconfdir)/smime-milter and
// $(localstatedir)/lib/smime-milter; the Debian package configures
// --sysconfdir=/etc --localstatedir=/var, which the documentation shows
// (SMIME_DOC_CONFDIR, SMIME_DOC_STATEDIR: config doc prints those).
#ifndef SMIME_CONFDIR
#define SMIME_CONFDIR "/etc/smime-milter"
#endif
#ifndef SMIME_STATEDIR
#define SMIME_STATEDIR "/var/lib/smime-milter"
#endif
#define SMIME_DOC_CONFDIR "/etc/smime-milter"
#define SMIME_DOC_STATEDIR "/var/lib/smime-milter"
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "dev"
#endif

#endif  // SMIME_BASE_DEFAULTS_H_
