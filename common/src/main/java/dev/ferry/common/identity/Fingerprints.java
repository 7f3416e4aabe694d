package dev.ferry.common.identity;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Locale;

/** Certificate fingerprints: lowercase hex SHA-256 of the DER encoding (Syncthing style). */
public final class Fingerprints {
  private Fingerprints() {}

  public static String of(X509Certificate certificate) {
    try {
      return sha256Hex(certificate.getEncoded());
    } catch (CertificateEncodingException e) {
      throw new IllegalArgumentException("certificate cannot be encoded", e);
    }
  }

  public static String sha256Hex(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** Accepts what a user may paste: any case, with or without colons or spaces. */
  public static String normalize(String fingerprint) {
    String hex = fingerprint.replaceAll("[:\\s]", "").toLowerCase(Locale.ROOT);
    if (!hex.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException(
          "a fingerprint is 64 hex digits (SHA-256), got '" + fingerprint + "'");
    }
    return hex;
  }

  /** The short form shown in tables: the first 16 hex digits. */
  public static String shortForm(String fingerprint) {
    return fingerprint.length() <= 16 ? fingerprint : fingerprint.substring(0, 16);
  }
}
