package dev.ferry.agent.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ferry.agent.media.MediaException;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Status descriptions must fit a client's header limit, whatever text a refusal echoes. */
class StatusesTest {
  /** What grpc-java puts on the wire for a description: printable ASCII as is, the rest %XX per byte. */
  private static int wireLength(String description) {
    int n = 0;
    for (byte b : description.getBytes(StandardCharsets.UTF_8)) {
      n += b >= 0x20 && b < 0x7f && b != '%' ? 1 : 3;
    }
    return n;
  }

  @Test
  void longDescriptionsAreCutToFitTheHeaders() {
    for (String text : new String[] {"x".repeat(100_000), "\u20ac".repeat(100_000), "%".repeat(10_000), "\u00fc".repeat(50_000)}) {
      Status status = Statuses.toStatus(new IllegalArgumentException(text)).getStatus();
      assertEquals(Status.Code.INVALID_ARGUMENT, status.getCode());
      assertTrue(wireLength(status.getDescription()) <= Statuses.MAX_DESCRIPTION + 20, "on the wire: " + wireLength(status.getDescription()));
      assertTrue(status.getDescription().endsWith("(cut)"));
    }
  }

  @Test
  void shortDescriptionsAndCodesAreKept() {
    Status status = Statuses.toStatus(new MediaException(MediaException.Reason.DATA_LOSS, "hash mismatch for a/\u00fc.png")).getStatus();
    assertEquals(Status.Code.DATA_LOSS, status.getCode());
    assertEquals("hash mismatch for a/\u00fc.png", status.getDescription());
  }

  @Test
  void aFullDiskOrQuotaIsResourceExhaustedAndOtherIoErrorsInternal() {
    assertEquals(Status.Code.RESOURCE_EXHAUSTED,
        Statuses.toStatus(new java.io.IOException("No space left on device")).getStatus().getCode());
    assertEquals(Status.Code.RESOURCE_EXHAUSTED,
        Statuses.toStatus(new java.nio.file.FileSystemException("/var/lib/x", null, "Disk quota exceeded")).getStatus().getCode());
    assertEquals(Status.Code.INTERNAL, Statuses.toStatus(new java.io.IOException("Input/output error")).getStatus().getCode());
  }
}
