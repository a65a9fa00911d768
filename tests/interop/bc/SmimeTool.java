// SmimeTool: Bouncy Castle (bcprov/bcpkix/bcmail) as an S/MIME interop
// partner for the smime-milter tests. Written for these tests only; compiled
// at test time by tests/interop/bc/build.sh (javac against Debian's jars).
//
// Every subcommand handles many files, because a JVM start costs about a
// second: a test collects its work in a batch file and runs one JVM.
//
//   verify [--at EPOCH] [--out DIR] CAFILE FILE...
//       Each FILE is a clear (multipart/signed) or opaque
//       (application/pkcs7-mime) signed message, parsed with javax.mail and
//       checked with bcmail's SMIMESigned: every SignerInfo must verify and
//       its certificate must chain (PKIX, BC provider, revocation off) to a
//       certificate of CAFILE (PEM, one or more) at EPOCH (default: now),
//       with the certificates the message carries as the only intermediates.
//       Prints "pass FILE signers=N digest=... sig=..." or "fail FILE: WHY".
//       --out DIR writes the signed entity as BC sees it to DIR/BASENAME.content.
//   sign --cert CERT --key KEY [--chain CHAIN] [--alg rsa|pss|ecdsa]
//        [--digest sha256|sha384|sha512] [--opaque] [--at EPOCH] IN OUT...
//       Signs each RFC 5322 message IN (its Content-* fields and body are
//       the signed entity, the other header fields are kept; without
//       Content-Type: text/plain; charset=utf-8, 8bit if it has 8-bit
//       octets) into OUT with
//       bcmail's SMIMESignedGenerator: multipart/signed, or with --opaque
//       application/pkcs7-mime; smime-type=signed-data. signingTime = EPOCH.
//       Prints "signed IN -> OUT".
//   encrypt [--cipher aes128-cbc|aes256-cbc|aes128-gcm|aes256-gcm] [--oaep]
//           --recip CERT [--recip CERT...] IN OUT...
//       Encrypts the entity of each IN to the recipients' certificates: RSA
//       keys by key transport (PKCS#1 v1.5, or RSAES-OAEP with SHA-256 and
//       MGF1-SHA-256 with --oaep), EC keys by ECDH
//       (dhSinglePass-stdDH-sha256kdf-scheme, AES key wrap of the content
//       key's size, ephemeral sender key). CBC gives EnvelopedData, GCM
//       AuthEnvelopedData (CMS level: bcmail 1.72 has no S/MIME generator for
//       it, so the MIME wrapper is written here). Default aes256-cbc.
//       Prints "encrypted IN -> OUT".
//   decrypt --cert CERT --key KEY IN OUT...
//       Decrypts each application/pkcs7-mime message IN (EnvelopedData or
//       AuthEnvelopedData) with the RecipientInfo naming CERT; writes the
//       decrypted entity to OUT. Prints "decrypted IN -> OUT content=OID
//       key=OID".
//   batch FILE|-
//       Runs one subcommand per line of FILE (or stdin): words split on
//       blanks, empty lines and lines starting with # ignored.
//
// Exit status: 0 when every item of every command passed, 1 when one failed
// (its line says why), 2 on a usage error.
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import javax.activation.CommandMap;
import javax.activation.MailcapCommandMap;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.mail.Session;
import javax.mail.internet.MimeBodyPart;
import javax.mail.internet.MimeMessage;
import javax.mail.internet.MimeMultipart;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.cms.Attribute;
import org.bouncycastle.asn1.cms.AuthEnvelopedData;
import org.bouncycastle.asn1.cms.AttributeTable;
import org.bouncycastle.asn1.cms.CMSAttributes;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.cms.Time;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.smime.SMIMECapabilitiesAttribute;
import org.bouncycastle.asn1.smime.SMIMECapability;
import org.bouncycastle.asn1.smime.SMIMECapabilityVector;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSAuthEnvelopedData;
import org.bouncycastle.cms.CMSAuthEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.KeyTransRecipientInformation;
import org.bouncycastle.cms.Recipient;
import org.bouncycastle.cms.RecipientInfoGenerator;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.RecipientInformationStore;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.SignerInformationStore;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyAgreeEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyAgreeRecipientInfoGenerator;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.mail.smime.SMIMESigned;
import org.bouncycastle.mail.smime.SMIMESignedGenerator;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OutputAEADEncryptor;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;

public final class SmimeTool {
  private static final Session SESSION = Session.getInstance(new Properties());
  private static final String BC = "BC";

  /** A failed item: its message ends up on the item's "fail" line. */
  static final class Failure extends Exception {
    private static final long serialVersionUID = 1L;

    Failure(String m) {
      super(m);
    }
  }

  /** A usage error: the whole command is refused (exit 2). */
  static final class Usage extends Exception {
    private static final long serialVersionUID = 1L;

    Usage(String m) {
      super(m);
    }
  }

  public static void main(String[] args) {
    Security.addProvider(new BouncyCastleProvider());
    // javax.mail finds bcmail's content handlers through the mailcap map.
    MailcapCommandMap mc = (MailcapCommandMap) CommandMap.getDefaultCommandMap();
    String h = "org.bouncycastle.mail.smime.handlers.";
    mc.addMailcap("application/pkcs7-signature;; x-java-content-handler=" + h + "pkcs7_signature");
    mc.addMailcap("application/pkcs7-mime;; x-java-content-handler=" + h + "pkcs7_mime");
    mc.addMailcap("application/x-pkcs7-signature;; x-java-content-handler=" + h + "x_pkcs7_signature");
    mc.addMailcap("application/x-pkcs7-mime;; x-java-content-handler=" + h + "x_pkcs7_mime");
    mc.addMailcap("multipart/signed;; x-java-content-handler=" + h + "multipart_signed");
    CommandMap.setDefaultCommandMap(mc);
    int rc;
    try {
      if (args.length == 2 && args[0].equals("batch")) {
        rc = 0;
        List<String> lines = args[1].equals("-")
            ? Arrays.asList(new String(System.in.readAllBytes(), StandardCharsets.UTF_8).split("\n"))
            : Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8);
        for (String line : lines) {
          String t = line.trim();
          if (t.isEmpty() || t.startsWith("#")) continue;
          rc = Math.max(rc, run(Arrays.asList(t.split("\\s+"))));
        }
      } else {
        rc = run(Arrays.asList(args));
      }
    } catch (Usage e) {
      System.err.println("SmimeTool: " + e.getMessage()
          + " (usage: see the header of tests/interop/bc/SmimeTool.java)");
      rc = 2;
    } catch (IOException e) {
      System.err.println("SmimeTool: " + e);
      rc = 2;
    }
    System.out.flush();
    System.exit(rc);
  }

  static int run(List<String> a) throws Usage {
    if (a.isEmpty()) throw new Usage("no command");
    Opts o = new Opts(a.subList(1, a.size()));
    switch (a.get(0)) {
      case "verify":
        return verify(o);
      case "sign":
        return sign(o);
      case "encrypt":
        return encrypt(o);
      case "decrypt":
        return decrypt(o);
      default:
        throw new Usage("unknown command " + a.get(0));
    }
  }

  /** --name value options (flags without value listed in FLAGS) and the rest. */
  static final class Opts {
    static final Set<String> FLAGS = new HashSet<>(Arrays.asList("--opaque", "--oaep"));
    final List<String[]> opts = new ArrayList<>();
    final List<String> rest = new ArrayList<>();

    Opts(List<String> a) throws Usage {
      for (int i = 0; i < a.size(); i++) {
        String s = a.get(i);
        if (s.startsWith("--") && FLAGS.contains(s)) {
          opts.add(new String[] {s, ""});
        } else if (s.startsWith("--")) {
          if (i + 1 >= a.size()) throw new Usage(s + " needs a value");
          opts.add(new String[] {s, a.get(++i)});
        } else {
          rest.add(s);
        }
      }
    }

    String get(String name, String dflt) {
      String v = dflt;
      for (String[] p : opts)
        if (p[0].equals(name)) v = p[1];
      return v;
    }

    List<String> all(String name) {
      List<String> v = new ArrayList<>();
      for (String[] p : opts)
        if (p[0].equals(name)) v.add(p[1]);
      return v;
    }

    boolean has(String name) {
      return all(name).size() > 0;
    }

    Date at() throws Usage {
      String v = get("--at", null);
      if (v == null) return new Date();
      try {
        return new Date(Long.parseLong(v) * 1000L);
      } catch (NumberFormatException e) {
        throw new Usage("--at wants seconds since the epoch: " + v);
      }
    }

    /** The remaining words as IN OUT pairs. */
    List<String[]> pairs() throws Usage {
      if (rest.isEmpty() || rest.size() % 2 != 0) throw new Usage("want IN OUT pairs");
      List<String[]> p = new ArrayList<>();
      for (int i = 0; i < rest.size(); i += 2) p.add(new String[] {rest.get(i), rest.get(i + 1)});
      return p;
    }
  }

  // ------------------------------------------------------------ files, keys

  static List<X509Certificate> readCerts(String file) throws Failure {
    List<X509Certificate> out = new ArrayList<>();
    try (PEMParser p = new PEMParser(new FileReader(file, StandardCharsets.US_ASCII))) {
      JcaX509CertificateConverter conv = new JcaX509CertificateConverter().setProvider(BC);
      Object o;
      while ((o = p.readObject()) != null) {
        if (o instanceof X509CertificateHolder) out.add(conv.getCertificate((X509CertificateHolder) o));
      }
    } catch (Exception e) {
      throw new Failure("cannot read certificates from " + file + ": " + e.getMessage());
    }
    if (out.isEmpty()) throw new Failure("no certificate in " + file);
    return out;
  }

  static PrivateKey readKey(String file) throws Failure {
    try (PEMParser p = new PEMParser(new FileReader(file, StandardCharsets.US_ASCII))) {
      Object o = p.readObject();
      JcaPEMKeyConverter conv = new JcaPEMKeyConverter().setProvider(BC);
      if (o instanceof PrivateKeyInfo) return conv.getPrivateKey((PrivateKeyInfo) o);
      if (o instanceof PEMKeyPair) return conv.getKeyPair((PEMKeyPair) o).getPrivate();
      throw new Failure("no unencrypted private key in " + file);
    } catch (IOException e) {
      throw new Failure("cannot read key " + file + ": " + e.getMessage());
    }
  }

  /** Header and body of an RFC 5322 message (LF or CRLF). */
  static final class Split {
    final List<String> outer = new ArrayList<>(); // fields other than Content-*/MIME-Version
    final List<String> content = new ArrayList<>(); // Content-* fields
    byte[] body;
  }

  static Split split(byte[] raw) {
    Split s = new Split();
    int i = 0;
    List<String> fields = new ArrayList<>();
    while (i < raw.length) {
      int e = i;
      while (e < raw.length && raw[e] != '\n') e++;
      int end = (e > i && raw[e - 1] == '\r') ? e - 1 : e;
      String line = new String(raw, i, end - i, StandardCharsets.ISO_8859_1);
      i = Math.min(e + 1, raw.length);
      if (line.isEmpty()) break;
      if ((line.startsWith(" ") || line.startsWith("\t")) && !fields.isEmpty()) {
        fields.set(fields.size() - 1, fields.get(fields.size() - 1) + "\r\n" + line);
      } else {
        fields.add(line);
      }
    }
    for (String f : fields) {
      String n = f.toLowerCase(Locale.ROOT);
      if (n.startsWith("content-")) s.content.add(f);
      else if (!n.startsWith("mime-version")) s.outer.add(f);
    }
    // A message without MIME fields: plain text, labelled as the common.sh
    // helpers do (UTF-8, 8bit when the body has 8-bit octets).
    boolean eightBit = false;
    for (int k = i; k < raw.length; k++) eightBit |= (raw[k] & 0x80) != 0;
    if (s.content.isEmpty()) {
      s.content.add("Content-Type: text/plain; charset=utf-8");
      if (eightBit) s.content.add("Content-Transfer-Encoding: 8bit");
    }
    // The body with CRLF line ends (S/MIME canonical form).
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int k = i; k < raw.length; k++) {
      if (raw[k] == '\n' && (k == i || raw[k - 1] != '\r')) b.write('\r');
      b.write(raw[k]);
    }
    s.body = b.toByteArray();
    return s;
  }

  /** The MIME entity to protect: the Content-* fields, an empty line, the body. */
  static byte[] entity(Split s) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (String f : s.content) b.writeBytes((f + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
    b.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
    b.writeBytes(s.body);
    return b.toByteArray();
  }

  static void writeOuter(OutputStream out, Split s) throws IOException {
    for (String f : s.outer) out.write((f + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
  }

  static String name(String file) {
    return new File(file).getName();
  }

  static String why(Exception e) {
    String m = e.getMessage();
    if (e.getCause() != null && e.getCause() != e && e.getCause().getMessage() != null)
      m = m + " (" + e.getCause().getMessage() + ")";
    return (e instanceof Failure ? "" : e.getClass().getSimpleName() + ": ") + m;
  }

  // ------------------------------------------------------------ verify

  static int verify(Opts o) throws Usage {
    if (o.rest.size() < 2) throw new Usage("verify [--at EPOCH] [--out DIR] CAFILE FILE...");
    Date at = o.at();
    String outDir = o.get("--out", null);
    Set<TrustAnchor> anchors = new HashSet<>();
    try {
      for (X509Certificate c : readCerts(o.rest.get(0))) anchors.add(new TrustAnchor(c, null));
    } catch (Failure e) {
      throw new Usage(e.getMessage());
    }
    int rc = 0;
    for (String f : o.rest.subList(1, o.rest.size())) {
      try {
        String r = verifyOne(f, anchors, at, outDir);
        System.out.println("pass " + f + " " + r);
      } catch (Exception e) {
        System.out.println("fail " + f + ": " + why(e));
        rc = 1;
      }
    }
    return rc;
  }

  static String verifyOne(String f, Set<TrustAnchor> anchors, Date at, String outDir)
      throws Exception {
    MimeMessage m = new MimeMessage(SESSION, new ByteArrayInputStream(Files.readAllBytes(Paths.get(f))));
    SMIMESigned s;
    if (m.isMimeType("multipart/signed")) {
      s = new SMIMESigned((MimeMultipart) m.getContent());
    } else if (m.isMimeType("application/pkcs7-mime") || m.isMimeType("application/x-pkcs7-mime")) {
      s = new SMIMESigned(m);
    } else {
      throw new Failure("not S/MIME signed: " + m.getContentType());
    }
    JcaX509CertificateConverter conv = new JcaX509CertificateConverter().setProvider(BC);
    List<X509Certificate> carried = new ArrayList<>();
    @SuppressWarnings("unchecked")
    Collection<X509CertificateHolder> holders = s.getCertificates().getMatches(null);
    for (X509CertificateHolder h : holders) carried.add(conv.getCertificate(h));
    SignerInformationStore signers = s.getSignerInfos();
    if (signers.size() == 0) throw new Failure("no SignerInfo");
    StringBuilder r = new StringBuilder("signers=" + signers.size());
    for (SignerInformation si : signers.getSigners()) {
      @SuppressWarnings("unchecked")
      Collection<X509CertificateHolder> match = s.getCertificates().getMatches(si.getSID());
      if (match.isEmpty()) throw new Failure("signer certificate not in the message");
      X509Certificate cert = conv.getCertificate(match.iterator().next());
      if (!si.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider(BC).build(cert)))
        throw new Failure("signature does not verify");
      X509CertSelector sel = new X509CertSelector();
      sel.setCertificate(cert);
      PKIXBuilderParameters p = new PKIXBuilderParameters(anchors, sel);
      p.setRevocationEnabled(false);
      p.setDate(at);
      p.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(carried), BC));
      try {
        CertPathBuilder.getInstance("PKIX", BC).build(p);
      } catch (Exception e) {
        throw new Failure("no path to the trust anchor: " + why(e));
      }
      List<String> eku = cert.getExtendedKeyUsage();
      if (eku != null && !eku.contains("1.3.6.1.5.5.7.3.4") && !eku.contains("2.5.29.37.0"))
        throw new Failure("signer certificate lacks emailProtection");
      r.append(" signer=").append(cert.getSubjectX500Principal().getName().replace(' ', '_'));
      r.append(" digest=").append(si.getDigestAlgOID());
      r.append(" sig=").append(si.getEncryptionAlgOID());
    }
    if (outDir != null) {
      try (OutputStream out = Files.newOutputStream(Paths.get(outDir, name(f) + ".content"))) {
        s.getContent().writeTo(out);
      }
    }
    return r.toString();
  }

  // ------------------------------------------------------------ sign

  /** A MimeMessage that keeps the Message-ID it was given. */
  static final class KeptIdMessage extends MimeMessage {
    KeptIdMessage() {
      super(SESSION);
    }

    @Override
    protected void updateMessageID() {}
  }

  static int sign(Opts o) throws Usage {
    String certFile = o.get("--cert", null), keyFile = o.get("--key", null);
    if (certFile == null || keyFile == null) throw new Usage("sign needs --cert and --key");
    String alg = o.get("--alg", null);
    String digest = o.get("--digest", "sha256").toUpperCase(Locale.ROOT);
    if (!digest.matches("SHA(256|384|512)")) throw new Usage("--digest sha256|sha384|sha512");
    boolean opaque = o.has("--opaque");
    Date at = o.at();
    List<String[]> pairs = o.pairs();
    SMIMESignedGenerator gen;
    try {
      List<X509Certificate> certs = readCerts(certFile);
      if (o.get("--chain", null) != null) certs.addAll(readCerts(o.get("--chain", null)));
      PrivateKey key = readKey(keyFile);
      if (alg == null) alg = key.getAlgorithm().startsWith("EC") ? "ecdsa" : "rsa";
      String jca;
      switch (alg) {
        case "rsa":
          jca = digest + "withRSA";
          break;
        case "pss":
          jca = digest + "withRSAandMGF1";
          break;
        case "ecdsa":
          jca = digest + "withECDSA";
          break;
        default:
          throw new Usage("--alg rsa|pss|ecdsa");
      }
      SMIMECapabilityVector caps = new SMIMECapabilityVector();
      caps.addCapability(CMSAlgorithm.AES256_GCM);
      caps.addCapability(CMSAlgorithm.AES256_CBC);
      caps.addCapability(CMSAlgorithm.AES128_CBC);
      ASN1EncodableVector attrs = new ASN1EncodableVector();
      attrs.add(new Attribute(CMSAttributes.signingTime, new DERSet(new Time(at))));
      attrs.add(new SMIMECapabilitiesAttribute(caps));
      gen = new SMIMESignedGenerator();
      gen.addSignerInfoGenerator(new JcaSimpleSignerInfoGeneratorBuilder()
          .setProvider(BC)
          .setSignedAttributeGenerator(new AttributeTable(attrs))
          .build(jca, key, certs.get(0)));
      gen.addCertificates(new JcaCertStore(certs));
    } catch (Usage e) {
      throw e;
    } catch (Exception e) {
      System.out.println("fail sign setup: " + why(e));
      return 1;
    }
    int rc = 0;
    for (String[] p : pairs) {
      try {
        Split s = split(Files.readAllBytes(Paths.get(p[0])));
        MimeBodyPart part = new MimeBodyPart(new ByteArrayInputStream(entity(s)));
        MimeMessage msg = new KeptIdMessage();
        for (String f : s.outer) msg.addHeaderLine(f);
        if (opaque) {
          MimeBodyPart sp = gen.generateEncapsulated(part);
          msg.setContent(sp.getContent(), sp.getContentType());
          msg.setHeader("Content-Disposition", "attachment; filename=\"smime.p7m\"");
          msg.setHeader("Content-Transfer-Encoding", "base64");
        } else {
          MimeMultipart mm = gen.generate(part);
          msg.setContent(mm, mm.getContentType());
        }
        msg.saveChanges();
        try (OutputStream out = Files.newOutputStream(Paths.get(p[1]))) {
          msg.writeTo(out);
        }
        System.out.println("signed " + p[0] + " -> " + p[1]);
      } catch (Exception e) {
        System.out.println("fail " + p[0] + ": " + why(e));
        rc = 1;
      }
    }
    return rc;
  }

  // ------------------------------------------------------------ encrypt

  static int encrypt(Opts o) throws Usage {
    String cipher = o.get("--cipher", "aes256-cbc");
    ASN1ObjectIdentifier alg;
    boolean gcm = cipher.endsWith("-gcm");
    switch (cipher) {
      case "aes128-cbc":
        alg = CMSAlgorithm.AES128_CBC;
        break;
      case "aes256-cbc":
        alg = CMSAlgorithm.AES256_CBC;
        break;
      case "aes128-gcm":
        alg = CMSAlgorithm.AES128_GCM;
        break;
      case "aes256-gcm":
        alg = CMSAlgorithm.AES256_GCM;
        break;
      default:
        throw new Usage("--cipher aes128-cbc|aes256-cbc|aes128-gcm|aes256-gcm");
    }
    ASN1ObjectIdentifier wrap = cipher.startsWith("aes128") ? CMSAlgorithm.AES128_WRAP : CMSAlgorithm.AES256_WRAP;
    List<String> recips = o.all("--recip");
    if (recips.isEmpty()) throw new Usage("encrypt needs --recip CERT");
    boolean oaep = o.has("--oaep");
    List<String[]> pairs = o.pairs();
    int rc = 0;
    for (String[] p : pairs) {
      try {
        // Fresh RecipientInfo generators per message: the ECDH sender key is ephemeral.
        List<RecipientInfoGenerator> ris = new ArrayList<>();
        for (String r : recips) ris.add(recipientInfo(readCerts(r).get(0), oaep, wrap));
        Split s = split(Files.readAllBytes(Paths.get(p[0])));
        CMSProcessableByteArray content = new CMSProcessableByteArray(entity(s));
        byte[] der;
        String type;
        if (gcm) {
          CMSAuthEnvelopedDataGenerator g = new CMSAuthEnvelopedDataGenerator();
          for (RecipientInfoGenerator ri : ris) g.addRecipientInfoGenerator(ri);
          OutputEncryptor enc = new JceCMSContentEncryptorBuilder(alg).setProvider(BC).build();
          der = g.generate(content, (OutputAEADEncryptor) enc).getEncoded();
          type = "authEnveloped-data";
        } else {
          CMSEnvelopedDataGenerator g = new CMSEnvelopedDataGenerator();
          for (RecipientInfoGenerator ri : ris) g.addRecipientInfoGenerator(ri);
          OutputEncryptor enc = new JceCMSContentEncryptorBuilder(alg).setProvider(BC).build();
          der = g.generate(content, enc).getEncoded();
          type = "enveloped-data";
        }
        try (OutputStream out = Files.newOutputStream(Paths.get(p[1]))) {
          writeOuter(out, s);
          String h = "MIME-Version: 1.0\r\n"
              + "Content-Type: application/pkcs7-mime; smime-type=" + type + "; name=\"smime.p7m\"\r\n"
              + "Content-Transfer-Encoding: base64\r\n"
              + "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n";
          out.write(h.getBytes(StandardCharsets.US_ASCII));
          out.write(Base64.getMimeEncoder(76, "\r\n".getBytes(StandardCharsets.US_ASCII))
                        .encode(der));
          out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        System.out.println("encrypted " + p[0] + " -> " + p[1]);
      } catch (Exception e) {
        System.out.println("fail " + p[0] + ": " + why(e));
        rc = 1;
      }
    }
    return rc;
  }

  static RecipientInfoGenerator recipientInfo(X509Certificate cert, boolean oaep, ASN1ObjectIdentifier wrap)
      throws Exception {
    String ka = cert.getPublicKey().getAlgorithm();
    if (ka.startsWith("EC")) {
      KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC", BC);
      kpg.initialize(new ECGenParameterSpec("P-256"));
      KeyPair eph = kpg.generateKeyPair();
      return new JceKeyAgreeRecipientInfoGenerator(CMSAlgorithm.ECDH_SHA256KDF, eph.getPrivate(),
          eph.getPublic(), wrap)
          .addRecipient(cert)
          .setProvider(BC);
    }
    if (!oaep) return new JceKeyTransRecipientInfoGenerator(cert).setProvider(BC);
    AlgorithmIdentifier ai = new JcaAlgorithmParametersConverter().getAlgorithmIdentifier(
        PKCSObjectIdentifiers.id_RSAES_OAEP,
        new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT));
    return new JceKeyTransRecipientInfoGenerator(cert, ai).setProvider(BC);
  }

  // ------------------------------------------------------------ decrypt

  @SuppressWarnings("unchecked")
  static boolean matches(RecipientInformation ri, X509CertificateHolder cert) {
    return ri.getRID().match(cert);
  }

  static int decrypt(Opts o) throws Usage {
    String certFile = o.get("--cert", null), keyFile = o.get("--key", null);
    if (certFile == null || keyFile == null) throw new Usage("decrypt needs --cert and --key");
    List<String[]> pairs = o.pairs();
    X509CertificateHolder cert;
    PrivateKey key;
    try {
      cert = new X509CertificateHolder(readCerts(certFile).get(0).getEncoded());
      key = readKey(keyFile);
    } catch (Exception e) {
      System.out.println("fail decrypt setup: " + why(e));
      return 1;
    }
    int rc = 0;
    for (String[] p : pairs) {
      try {
        MimeMessage m = new MimeMessage(SESSION, new ByteArrayInputStream(Files.readAllBytes(Paths.get(p[0]))));
        if (!m.isMimeType("application/pkcs7-mime") && !m.isMimeType("application/x-pkcs7-mime"))
          throw new Failure("not application/pkcs7-mime: " + m.getContentType());
        byte[] der;
        try (InputStream in = m.getInputStream()) {
          der = in.readAllBytes();
        }
        ASN1ObjectIdentifier ct = ContentInfo.getInstance(ASN1Primitive.fromByteArray(der)).getContentType();
        RecipientInformationStore store;
        String contentAlg;
        if (ct.equals(CMSObjectIdentifiers.envelopedData)) {
          CMSEnvelopedData ed = new CMSEnvelopedData(der);
          store = ed.getRecipientInfos();
          contentAlg = ed.getEncryptionAlgOID();
        } else if (ct.equals(CMSObjectIdentifiers.authEnvelopedData)) {
          CMSAuthEnvelopedData ad = new CMSAuthEnvelopedData(der);
          store = ad.getRecipientInfos();
          contentAlg = AuthEnvelopedData.getInstance(ad.toASN1Structure().getContent())
                           .getAuthEncryptedContentInfo()
                           .getContentEncryptionAlgorithm()
                           .getAlgorithm()
                           .getId();
        } else {
          throw new Failure("CMS content type " + ct + " is not (auth)enveloped data");
        }
        RecipientInformation mine = null;
        for (RecipientInformation ri : store.getRecipients()) {
          if (matches(ri, cert)) mine = ri;
        }
        if (mine == null) throw new Failure("no RecipientInfo for " + cert.getSubject());
        Recipient r = mine instanceof KeyTransRecipientInformation
            ? new JceKeyTransEnvelopedRecipient(key).setProvider(BC)
            : new JceKeyAgreeEnvelopedRecipient(key).setProvider(BC);
        byte[] plain = mine.getContent(r);
        Files.write(Paths.get(p[1]), plain);
        System.out.println("decrypted " + p[0] + " -> " + p[1] + " content=" + contentAlg
            + " key=" + mine.getKeyEncryptionAlgOID());
      } catch (Exception e) {
        System.out.println("fail " + p[0] + ": " + why(e));
        rc = 1;
      }
    }
    return rc;
  }
}
