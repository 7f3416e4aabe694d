package dev.ferry.agent.web;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A minimal HTTP/1.0 GET against the local Mastodon web service, over TCP or a Unix socket (the
 * NixOS module serves puma on /run/mastodon-web/web.socket by default, which java.net.http
 * cannot reach). Only for the smoke test: small answers, loopback only.
 */
public final class WebProbe {
  private static final int MAX_BODY = 1 << 20;
  private static final Pattern URI_FIELD = Pattern.compile("\"(?:uri|domain)\"\\s*:\\s*\"([^\"]+)\"");

  private final String webUrl;

  /** @param webUrl {@code http://host:port} or {@code unix:/path/to/socket} */
  public WebProbe(String webUrl) {
    this.webUrl = webUrl;
  }

  /** A response's status code and body. */
  public record Response(int status, String body) {}

  /** What the smoke test saw. */
  public record Outcome(boolean healthOk, String instanceDomain, boolean passed, String detail) {}

  /** Retries until the service answers or {@code wait} runs out: it may still be starting. */
  public Outcome check(String expectedDomain, Duration wait) throws InterruptedException {
    long deadline = System.nanoTime() + wait.toNanos();
    String lastError = "";
    while (true) {
      try {
        Response health = get("/health");
        if (health.status() == 200) {
          Response instance = get("/api/v1/instance");
          Matcher m = URI_FIELD.matcher(instance.body());
          String domain = instance.status() == 200 && m.find() ? m.group(1) : "";
          boolean passed = domain.equals(expectedDomain);
          return new Outcome(true, domain, passed,
              "/health 200; /api/v1/instance " + instance.status() + (domain.isEmpty() ? "" : " reports " + domain)
                  + (passed ? "" : ", expected " + expectedDomain));
        }
        lastError = "/health answered " + health.status();
      } catch (IOException e) {
        lastError = "cannot reach " + webUrl + ": " + e.getMessage();
      }
      if (System.nanoTime() > deadline) {
        return new Outcome(false, "", false, lastError);
      }
      Thread.sleep(500);
    }
  }

  public Response get(String path) throws IOException {
    SocketAddress address;
    String host;
    if (webUrl.startsWith("unix:")) {
      address = UnixDomainSocketAddress.of(webUrl.substring("unix:".length()));
      host = "localhost";
    } else {
      URI uri = URI.create(webUrl);
      address = new InetSocketAddress(uri.getHost(), uri.getPort() < 0 ? 80 : uri.getPort());
      host = uri.getHost();
    }
    try (SocketChannel channel = address instanceof UnixDomainSocketAddress
        ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open()) {
      channel.socket();
      channel.connect(address);
      // X-Forwarded-Proto: Mastodon forces HTTPS and would redirect a plain request.
      String request = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nX-Forwarded-Proto: https\r\n"
          + "Accept: application/json\r\nConnection: close\r\n\r\n";
      channel.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII)));
      InputStream in = Channels.newInputStream(channel);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      int n;
      while ((n = in.read(buffer)) >= 0 && out.size() < MAX_BODY) {
        out.write(buffer, 0, n);
      }
      String text = out.toString(StandardCharsets.UTF_8);
      int headerEnd = text.indexOf("\r\n\r\n");
      String statusLine = text.lines().findFirst().orElse("");
      String[] parts = statusLine.split(" ");
      if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
        throw new IOException("not an HTTP answer");
      }
      int status = Integer.parseInt(parts[1]);
      return new Response(status, headerEnd < 0 ? "" : text.substring(headerEnd + 4));
    } catch (NumberFormatException e) {
      throw new IOException("bad HTTP status line");
    }
  }
}
