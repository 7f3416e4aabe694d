package dev.ferry.common.identity;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.function.Predicate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a peer by its certificate's fingerprint alone. Self-signed certificates carry no
 * authority of their own, so chains, names and CAs are irrelevant: the question is only "is this
 * the key we pinned?". The certificate must still be within its validity period and must have
 * signed itself, so a garbled certificate is refused early.
 */
public final class PinnedTrustManager extends X509ExtendedTrustManager {
  private final Predicate<String> accepted;
  private final String what;

  /**
   * @param accepted decides on a fingerprint
   * @param what names the peer in errors, for example "agent" or "controller"
   */
  public PinnedTrustManager(Predicate<String> accepted, String what) {
    this.accepted = accepted;
    this.what = what;
  }

  /** Trusts exactly one fingerprint. */
  public static PinnedTrustManager exactly(String fingerprint, String what) {
    String expected = Fingerprints.normalize(fingerprint);
    return new PinnedTrustManager(expected::equals, what);
  }

  /** Trusts any well-formed self-signed certificate; authorization happens after the handshake. */
  public static PinnedTrustManager anyWellFormed(String what) {
    return new PinnedTrustManager(fingerprint -> true, what);
  }

  private void check(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the " + what + " sent no certificate");
    }
    X509Certificate leaf = chain[0];
    leaf.checkValidity();
    try {
      leaf.verify(leaf.getPublicKey());
    } catch (java.security.GeneralSecurityException e) {
      throw new CertificateException("the " + what + " certificate is not self-signed", e);
    }
    String fingerprint = Fingerprints.of(leaf);
    if (!accepted.test(fingerprint)) {
      throw new CertificateException(
          "the " + what + " certificate fingerprint " + fingerprint + " is not the pinned one");
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[0];
  }
}
