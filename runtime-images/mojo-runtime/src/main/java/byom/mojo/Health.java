package byom.mojo;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The image's HEALTHCHECK (the JRE image has no curl): exit 0 when /readyz answers 200. */
public final class Health {
  private Health() {}

  public static void main(String[] args) {
    try {
      HttpResponse<Void> answer = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:8080/readyz")).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.discarding());
      System.exit(answer.statusCode() == 200 ? 0 : 1);
    } catch (Exception error) {
      System.exit(1);
    }
  }
}
