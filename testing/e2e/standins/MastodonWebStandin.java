// A stand-in for Mastodon's web service in the end-to-end test containers. Like puma, it
// refuses to start without SECRET_KEY_BASE, and it answers the two requests ferry's smoke test
// makes: GET /health and GET /api/v1/instance (with LOCAL_DOMAIN as the instance's domain).
// Run with the JDK's single-file launcher: java MastodonWebStandin.java PORT
import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

public class MastodonWebStandin {
  public static void main(String[] args) throws Exception {
    String secret = System.getenv("SECRET_KEY_BASE");
    String domain = System.getenv("LOCAL_DOMAIN");
    if (secret == null || secret.isEmpty() || domain == null || domain.isEmpty()) {
      System.err.println("SECRET_KEY_BASE and LOCAL_DOMAIN must be set");
      System.exit(1);
    }
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0])), 16);
    server.createContext("/health", exchange -> reply(exchange, "OK"));
    server.createContext("/api/v1/instance",
        exchange -> reply(exchange, "{\"uri\":\"" + domain + "\",\"title\":\"stand-in\"}"));
    server.start();
    System.err.println("stand-in web for " + domain + " on port " + args[0]);
  }

  private static void reply(com.sun.net.httpserver.HttpExchange exchange, String body) throws java.io.IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(200, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
