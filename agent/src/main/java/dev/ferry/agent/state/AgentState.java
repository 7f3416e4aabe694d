package dev.ferry.agent.state;

import dev.ferry.common.identity.Fingerprints;
import dev.ferry.common.identity.Identity;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/**
 * The agent's state directory: its identity, the controllers it trusts, the pending pairing code
 * and the ticket nonces already redeemed. The directory is 0700; private material inside is 0600.
 */
public final class AgentState {
  private final Path dir;

  public AgentState(Path dir) {
    this.dir = dir;
  }

  public Path dir() {
    return dir;
  }

  /** Creates the directory with mode 0700 if it is missing, and tightens it if it is wider. */
  public void ensureDirectory() throws IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    Files.createDirectories(controllersDir());
  }

  public boolean hasIdentity() {
    return Identity.existsIn(dir);
  }

  public Identity loadOrCreateIdentity(String label) throws IOException {
    ensureDirectory();
    return Identity.loadOrCreate(dir, label);
  }

  public PairingCodes pairingCodes() {
    return new PairingCodes(dir.resolve("pairing-code"));
  }

  public NonceLedger nonceLedger() {
    return new NonceLedger(dir.resolve("used-nonces"));
  }

  private Path controllersDir() {
    return dir.resolve("controllers");
  }

  /** Records a controller as trusted; its certificate is kept to check ticket signatures. */
  public synchronized void trustController(X509Certificate certificate, String name)
      throws IOException {
    ensureDirectory();
    String fingerprint = Fingerprints.of(certificate);
    Files.writeString(controllersDir().resolve(fingerprint + ".pem"), Identity.toPem(certificate));
    Files.writeString(controllersDir().resolve(fingerprint + ".name"), name + "\n");
  }

  /** Fingerprint to certificate of every trusted controller, read afresh each time. */
  public synchronized Map<String, X509Certificate> trustedControllers() throws IOException {
    Map<String, X509Certificate> trusted = new HashMap<>();
    if (!Files.isDirectory(controllersDir())) {
      return trusted;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(controllersDir(), "*.pem")) {
      for (Path file : files) {
        X509Certificate certificate = Identity.readCertificate(file);
        String fingerprint = Fingerprints.of(certificate);
        // A file renamed by hand must not smuggle in another key.
        if (file.getFileName().toString().equals(fingerprint + ".pem")) {
          trusted.put(fingerprint, certificate);
        }
      }
    }
    return Collections.unmodifiableMap(trusted);
  }
}
