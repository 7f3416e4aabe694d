package dev.ferry.agent.media;

/** The PAX header names ferry adds to its tar stream (see media_service.proto, ReadFiles). */
final class TarFormat {
  /** "digest" on the zero-length entry that follows each file and carries its hash. */
  static final String KIND = "FERRY.kind";
  static final String KIND_DIGEST = "digest";
  /** Hex SHA-256 of the whole file, on the digest entry. */
  static final String SHA256 = "FERRY.sha256";
  /** "true" on the digest entry if the file changed while it was read; its bytes are unusable. */
  static final String CHANGED = "FERRY.changed";
  /** On a file entry: the entry's data starts at this byte of the file (resume). */
  static final String OFFSET = "FERRY.offset";

  /** The tar record size; the writer uses it as its block size too. */
  static final int RECORD = 512;

  private TarFormat() {}
}
