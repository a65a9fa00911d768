// certdir/cert_store_open: the certificate store the certificate_store
// parameter names.
//
// "sqlite" (state_dir/certificates.db, the default), "sqlite:PATH" (another
// SQLite file, e.g. the source of `smimectl store copy`) or
// "postgresql:CONNINFO" (a libpq connection string or postgresql:// URI,
// shared by several hosts: certdir/pg_cert_store.h, docs/scaling.md).
// Failure modes: an unknown backend or a password in the connection string
// (kConfig); the SQLite store's Open failures. A PostgreSQL store connects
// on first use, so a database that is down does not stop the daemon.
#ifndef SMIME_CERTDIR_CERT_STORE_OPEN_H_
#define SMIME_CERTDIR_CERT_STORE_OPEN_H_

#include <memory>
#include <string>

#include "certdir/cert_store.h"
#include "certdir/pg_cert_store.h"

namespace smime {

// OK when spec names a backend this build has (and, for PostgreSQL, a
// connection string without a password).
Status CheckStoreSpec(const std::string& spec);

// Opens the store spec names. pg holds the PostgreSQL timeout and pool
// size (its conninfo is ignored).
Status OpenCertStore(const std::string& spec, const std::string& state_dir,
                     const PgStoreOptions& pg, std::shared_ptr<CertStore>* out);

}  // namespace smime

#endif  // SMIME_CERTDIR_CERT_STORE_OPEN_H_
