package dev.ferry.common.identity;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The pairing handshake's proofs. Each side proves it knows the one-time code with an HMAC bound
 * to both fingerprints as it sees them, so the code never crosses the wire and a relay in the
 * middle (which must present its own certificate to each side) cannot produce a valid proof.
 */
public final class PairingProof {
  private PairingProof() {}

  public static byte[] controllerProof(String code, String controllerFp, String agentFp) {
    return hmac(code, "ferry-pair-controller|" + controllerFp + "|" + agentFp);
  }

  public static byte[] agentProof(String code, String agentFp, String controllerFp) {
    return hmac(code, "ferry-pair-agent|" + agentFp + "|" + controllerFp);
  }

  public static boolean matches(byte[] expected, byte[] actual) {
    return MessageDigest.isEqual(expected, actual);
  }

  /** Codes are shown grouped for reading aloud; the groups and case do not matter. */
  public static String normalizeCode(String code) {
    return code.replaceAll("[-\\s]", "").toUpperCase(java.util.Locale.ROOT);
  }

  private static byte[] hmac(String code, String message) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(normalizeCode(code).getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
    }
  }
}
