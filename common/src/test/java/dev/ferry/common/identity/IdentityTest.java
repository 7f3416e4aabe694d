package dev.ferry.common.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdentityTest {
  @TempDir Path dir;

  @Test
  void createdKeyIsPrivateAndReloadsToTheSameFingerprint() throws Exception {
    Identity created = Identity.create(dir, "host");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(Identity.KEY_FILE))));
    Identity loaded = Identity.load(dir);
    assertEquals(created.fingerprint(), loaded.fingerprint());
    assertEquals(created.privateKey(), loaded.privateKey());
    assertEquals(64, created.fingerprint().length());
    assertNotEquals(created.fingerprint(), Identity.create(dir.resolve("other"), "host").fingerprint());
  }

  @Test
  void pinnedTrustManagerAcceptsOnlyThePinnedCertificate() throws Exception {
    Identity a = Identity.create(dir.resolve("a"), "a");
    Identity b = Identity.create(dir.resolve("b"), "b");
    PinnedTrustManager trust = PinnedTrustManager.exactly(a.fingerprint(), "agent");
    trust.checkServerTrusted(new X509Certificate[] {a.certificate()}, "EC");
    CertificateException e = assertThrows(CertificateException.class,
        () -> trust.checkServerTrusted(new X509Certificate[] {b.certificate()}, "EC"));
    assertTrue(e.getMessage().contains("not the pinned one"));
    assertThrows(CertificateException.class, () -> trust.checkClientTrusted(new X509Certificate[0], "EC"));
  }

  @Test
  void fingerprintsAreNormalized() {
    String hex = "AB".repeat(32);
    assertEquals("ab".repeat(32), Fingerprints.normalize(hex.replaceAll("(..)", "$1:").replaceAll(":$", "")));
    assertThrows(IllegalArgumentException.class, () -> Fingerprints.normalize("abc"));
  }

  @Test
  void pairingProofsBindBothFingerprintsAndTheCode() {
    String c = "c".repeat(64);
    String a = "a".repeat(64);
    byte[] proof = PairingProof.controllerProof("ABCD-EFGH-JKLM", c, a);
    assertTrue(PairingProof.matches(proof, PairingProof.controllerProof("abcd efgh jklm", c, a)));
    assertFalse(PairingProof.matches(proof, PairingProof.controllerProof("ABCD-EFGH-JKLN", c, a)));
    assertFalse(PairingProof.matches(proof, PairingProof.controllerProof("ABCD-EFGH-JKLM", c, "b".repeat(64))));
    // The agent's proof is not the controller's: a reflected proof is useless.
    assertFalse(PairingProof.matches(proof, PairingProof.agentProof("ABCD-EFGH-JKLM", a, c)));
  }
}
