package dev.ferry.common.identity;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A self-signed ECDSA P-256 key and certificate, stored as {@code key.pem} (0600) and {@code
 * cert.pem} in a directory. Who we are is the certificate's fingerprint; the certificate's
 * names carry no authority, so they are only labels.
 */
public record Identity(PrivateKey privateKey, X509Certificate certificate) {
  public static final String KEY_FILE = "key.pem";
  public static final String CERT_FILE = "cert.pem";
  // Pinning, not expiry, is what we trust; a long life avoids surprise outages.
  private static final Duration VALIDITY = Duration.ofDays(3650);
  /**
   * The type of the in-memory key store netty builds from this key for TLS. The default,
   * PKCS12, wraps the key with 10,000 rounds of PBKDF2 when it is stored and again when the key
   * manager reads it back: about 0.13 s of a controller command's start (bench/README.md), and
   * the same work again in every agent-to-agent connection. The store never leaves memory, so its
   * wrapping protects nothing; JKS's is a few hashes.
   */
  public static final String TLS_KEY_STORE_TYPE = "JKS";

  public String fingerprint() {
    return Fingerprints.of(certificate);
  }

  public static boolean existsIn(Path dir) {
    return Files.exists(dir.resolve(KEY_FILE)) && Files.exists(dir.resolve(CERT_FILE));
  }

  /** Loads the identity in {@code dir}, creating it first if there is none. */
  public static Identity loadOrCreate(Path dir, String label) throws IOException {
    return existsIn(dir) ? load(dir) : create(dir, label);
  }

  public static Identity create(Path dir, String label) throws IOException {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
      KeyPair pair = generator.generateKeyPair();
      X500Name name = new X500Name("CN=" + label.replaceAll("[^A-Za-z0-9._-]", "_"));
      Instant now = Instant.now();
      var builder =
          new JcaX509v3CertificateBuilder(
              name,
              new BigInteger(127, new SecureRandom()),
              Date.from(now.minus(Duration.ofDays(1))),
              Date.from(now.plus(VALIDITY)),
              name,
              pair.getPublic());
      X509CertificateHolder holder =
          builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate()));
      X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(holder);
      Files.createDirectories(dir);
      writePrivate(dir.resolve(KEY_FILE), toPem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(pair.getPrivate(), null).generate()));
      Files.writeString(dir.resolve(CERT_FILE), toPem(certificate));
      return new Identity(pair.getPrivate(), certificate);
    } catch (GeneralSecurityException | org.bouncycastle.operator.OperatorCreationException e) {
      throw new IOException("cannot create a key pair: " + e.getMessage(), e);
    }
  }

  public static Identity load(Path dir) throws IOException {
    Path keyFile = dir.resolve(KEY_FILE);
    try (Reader reader = Files.newBufferedReader(keyFile)) {
      Object parsed = new PEMParser(reader).readObject();
      PrivateKey key;
      var converter = new JcaPEMKeyConverter();
      if (parsed instanceof PEMKeyPair pair) {
        key = converter.getKeyPair(pair).getPrivate();
      } else if (parsed instanceof org.bouncycastle.asn1.pkcs.PrivateKeyInfo info) {
        key = converter.getPrivateKey(info);
      } else {
        throw new IOException(keyFile + " does not hold a private key");
      }
      return new Identity(key, readCertificate(dir.resolve(CERT_FILE)));
    }
  }

  public static X509Certificate readCertificate(Path file) throws IOException {
    return parseCertificate(Files.readString(file));
  }

  public static X509Certificate parseCertificate(String pem) throws IOException {
    try (PEMParser parser = new PEMParser(new java.io.StringReader(pem))) {
      Object parsed = parser.readObject();
      if (!(parsed instanceof X509CertificateHolder holder)) {
        throw new IOException("not a PEM certificate");
      }
      return new JcaX509CertificateConverter().getCertificate(holder);
    } catch (java.security.cert.CertificateException e) {
      throw new IOException("bad certificate: " + e.getMessage(), e);
    }
  }

  public static String toPem(Object object) throws IOException {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    }
    return out.toString();
  }

  /** Writes a file that only its owner may read, without a window where it is wider. */
  public static void writePrivate(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(
        tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, content, StandardCharsets.UTF_8, StandardOpenOption.WRITE);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }
}
