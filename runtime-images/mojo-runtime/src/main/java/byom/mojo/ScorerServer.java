package byom.mojo;

import au.com.bytecode.opencsv.CSVReader;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.JsonWriter;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import hex.genmodel.easy.RowData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Reader;
import java.io.StringReader;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The scorer API (docs/runtimes.md) for H2O-3 MOJOs, with the Python runtimes' answers, errors and
 * settings: MODEL_PATH, MODEL_ID, PORT, BYOM_HOST, BYOM_WORKERS (request threads),
 * BYOM_MAX_BODY_BYTES, BYOM_PASSPHRASE_HASH, BYOM_BATCH_DIR. The server answers at once (503 on
 * /readyz) and loads the MOJO in the background.
 */
public final class ScorerServer {
  private static final Logger LOG = Logger.getLogger("byom.mojo");
  private static final String JSON = "application/json";
  private static final String TEXT = "text/plain; charset=utf-8";
  private static final TypeAdapter<JsonElement> ELEMENTS = new Gson().getAdapter(JsonElement.class);

  private final String modelId;
  private final long maxBody;
  private final Passphrase passphrase;
  private final Path batchDir;
  private final List<Column> inputSchema;
  private final List<Column> outputSchema;
  private final byte[] schemaAnswer;
  private final byte[] sampleAnswer;
  private volatile MojoScorer scorer;

  record Response(int status, String type, byte[] body) {}

  private ScorerServer(String modelId, long maxBody, Passphrase passphrase, Path batchDir, Manifest manifest) {
    this.modelId = modelId;
    this.maxBody = maxBody;
    this.passphrase = passphrase;
    this.batchDir = batchDir;
    this.inputSchema = manifest.schema("inputSchema");
    this.outputSchema = manifest.schema("outputSchema");
    JsonObject schema = new JsonObject();
    schema.addProperty("id", modelId);
    schema.addProperty("name", modelId);
    schema.addProperty("framework", manifest.string("framework"));
    JsonObject fields = new JsonObject();
    fields.add("inputFields", fieldsJson(inputSchema));
    fields.add("outputFields", fieldsJson(outputSchema));
    schema.add("schema", fields);
    this.schemaAnswer = schema.toString().getBytes(StandardCharsets.UTF_8);
    JsonElement sample = manifest.json.get("sampleRequest");
    this.sampleAnswer = (sample == null || sample.isJsonNull() ? emptySample() : sample).toString()
        .getBytes(StandardCharsets.UTF_8);
  }

  static void main() throws Exception {
    String modelPath = env("MODEL_PATH", null);
    String modelId = env("MODEL_ID", null);
    if (modelPath == null || modelId == null) exit("MODEL_PATH and MODEL_ID must be set");
    if (env("BYOM_SHADOW_URL", null) != null) {
      exit("BYOM_SHADOW_URL is set, but the H2O-3 MOJO runtime does not mirror shadow copies: deploy a MOJO as a challenger, not as a champion");
    }
    if (env("BYOM_CAPTURE_URI", null) != null) {
      exit("BYOM_CAPTURE_URI is set, but the H2O-3 MOJO runtime does not capture requests: set the deployment's capture.samplePercent to 0");
    }
    Manifest manifest = null;
    try {
      manifest = Manifest.read(Path.of(modelPath));
    } catch (IOException error) {
      exit(error.getMessage());
    }
    Passphrase passphrase = null;
    String hash = env("BYOM_PASSPHRASE_HASH", null);
    if (hash != null) {
      try {
        passphrase = new Passphrase(hash);
      } catch (IllegalArgumentException error) {
        exit(error.getMessage());
      }
    }
    String batch = env("BYOM_BATCH_DIR", null);
    long maxBody = Long.parseLong(env("BYOM_MAX_BODY_BYTES", String.valueOf(64L * 1024 * 1024)));
    int threads = Integer.parseInt(env("BYOM_WORKERS", String.valueOf(Runtime.getRuntime().availableProcessors())));
    ScorerServer app = new ScorerServer(modelId, maxBody, passphrase, batch == null ? null : Path.of(batch), manifest);

    // TCP_NODELAY: the JDK server writes headers and body separately; with Nagle's algorithm and
    // the client's delayed ACK every answer would wait ~40 ms. Read once, when the server starts.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    int port = Integer.parseInt(env("PORT", "8080"));
    HttpServer server = HttpServer.create(new InetSocketAddress(env("BYOM_HOST", "0.0.0.0"), port), 2048);
    server.setExecutor(Executors.newFixedThreadPool(Math.max(1, threads)));
    server.createContext("/", app::exchange);
    server.start();
    LOG.info("byom mojo runtime listening on port " + port + " with " + threads + " threads");

    Path mojo = Path.of(modelPath).resolve(manifest.string("modelPath"));
    try {
      long started = System.nanoTime();
      app.scorer = MojoScorer.load(mojo.toString());
      LOG.info(String.format("MOJO %s loaded in %.2f s", mojo, (System.nanoTime() - started) / 1e9));
    } catch (IOException | RuntimeException error) {
      server.stop(0);
      exit("cannot load the MOJO " + mojo + ": " + error);
    }
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isEmpty() ? fallback : value;
  }

  private static void exit(String reason) {
    System.err.println("byom mojo runtime: " + reason);
    System.exit(1);
  }

  private void exchange(HttpExchange exchange) throws IOException {
    Response response;
    boolean close = false;
    try (exchange) {
      try {
        String length = exchange.getRequestHeaders().getFirst("Content-Length");
        byte[] body = null;
        if (length != null && length.chars().allMatch(Character::isDigit) && !length.isEmpty()
            && Long.parseLong(length) > maxBody) {
          body = null;
        } else {
          body = readLimited(exchange.getRequestBody());
        }
        if (body == null) {
          close = true;
          throw new RequestError(413, "the body is over the limit of " + maxBody + " bytes (BYOM_MAX_BODY_BYTES)");
        }
        response = route(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
            exchange.getRequestURI().getRawQuery(), exchange.getRequestHeaders().getFirst("Authorization"),
            exchange.getRequestHeaders().getFirst("Content-Type"), body);
      } catch (RequestError error) {
        response = detail(error.status, error.getMessage());
      } catch (Exception fault) {
        LOG.log(Level.SEVERE, "scoring failed", fault);
        response = detail(500, "the model failed on this request; see the runtime log");
      }
      exchange.getResponseHeaders().set("Content-Type", response.type());
      if (close) exchange.getResponseHeaders().set("Connection", "close");
      exchange.sendResponseHeaders(response.status(), response.body().length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(response.body());
      }
    }
  }

  /** The body, or null once it passes the limit (chunked bodies have no Content-Length to check). */
  private byte[] readLimited(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[1 << 16];
    boolean over = false;
    for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
      if (!over) out.write(buffer, 0, n);
      if (out.size() > maxBody) {
        over = true;
        out.reset();
      }
    }
    return over ? null : out.toByteArray();
  }

  private Response route(String method, String path, String query, String authorization, String contentType,
      byte[] body) throws Exception {
    if (path.equals("/readyz") || path.equals("/healthz")) {
      return scorer == null ? new Response(503, TEXT, bytes("loading")) : new Response(200, TEXT, bytes("ok"));
    }
    if (!path.startsWith("/model/")) {
      throw new RequestError(404, "no such endpoint " + path + ": the scorer API lives under /model/");
    }
    if (passphrase != null) passphrase.require(authorization);
    if (path.equals("/model/id")) return new Response(200, TEXT, bytes(modelId));
    MojoScorer loaded = scorer;
    if (loaded == null) throw new RequestError(503, "the model is still loading; retry when /readyz answers 200");
    if (path.equals("/model/score")) {
      if (method.equals("POST")) return scoreBody(loaded, contentType, body);
      if (method.equals("GET")) return scoreFile(loaded, query);
      throw new RequestError(405, "use POST /model/score with a body, or GET /model/score?file=<name>");
    }
    if (!method.equals("GET")) throw new RequestError(405, path + " answers GET only");
    return switch (path) {
      case "/model/schema" -> new Response(200, JSON, schemaAnswer);
      case "/model/sample_request" -> new Response(200, JSON, sampleAnswer);
      case "/model/capabilities" -> new Response(200, JSON, bytes("[\"SCORE\"]"));
      default -> throw new RequestError(404, "no such endpoint " + path);
    };
  }

  private Response scoreBody(MojoScorer loaded, String contentType, byte[] body) throws Exception {
    String kind = contentType == null ? "" : contentType.split(";", 2)[0].strip().toLowerCase(java.util.Locale.ROOT);
    if (!kind.isEmpty() && !kind.equals(JSON) && !kind.endsWith("+json")) {
      throw new RequestError(415, "Content-Type " + PyText.quote(kind) + " is not taken: send one of " + JSON);
    }
    JsonElement payload;
    try (JsonReader reader = new JsonReader(new StringReader(new String(body, StandardCharsets.UTF_8)))) {
      reader.setLenient(false);
      payload = ELEMENTS.read(reader);
      if (reader.peek() != JsonToken.END_DOCUMENT) throw new IOException("unexpected data after the JSON value");
    } catch (IOException | RuntimeException error) {
      throw RequestError.badRequest("the body is not valid JSON: " + Processor.oneLine(error.getMessage()));
    }
    return score(loaded, Convert.parse(payload, inputSchema));
  }

  private Response scoreFile(MojoScorer loaded, String query) throws Exception {
    String name = fileParameter(query);
    if (name == null || name.isEmpty()) {
      throw RequestError.badRequest("GET /model/score needs ?file=<name of a CSV in the batch folder>");
    }
    if (batchDir == null) throw new RequestError(404, "batch scoring is off: the runtime has no BYOM_BATCH_DIR");
    Path folder = batchDir.toRealPath();
    Path candidate = folder.resolve(name).normalize();
    if (Files.exists(candidate)) candidate = candidate.toRealPath();
    if (!candidate.startsWith(folder) || candidate.equals(folder)) {
      throw RequestError.badRequest("file " + PyText.quote(name) + " is outside the batch folder");
    }
    if (!Files.isRegularFile(candidate)) {
      throw new RequestError(404, "file " + PyText.quote(name) + " is not in the batch folder");
    }
    JsonObject request = new JsonObject();
    try (Reader in = Files.newBufferedReader(candidate, StandardCharsets.UTF_8); CSVReader csv = new CSVReader(in)) {
      String[] header = csv.readNext();
      if (header == null) {
        throw RequestError.badRequest("file " + PyText.quote(name) + " is empty: it needs a header row");
      }
      JsonArray fields = new JsonArray();
      for (String field : header) fields.add(field);
      JsonArray rows = new JsonArray();
      for (String[] line = csv.readNext(); line != null; line = csv.readNext()) {
        if (line.length == 0 || (line.length == 1 && line[0].isEmpty())) continue;
        JsonArray row = new JsonArray();
        for (String value : line) row.add(new JsonPrimitive(value));
        rows.add(row);
      }
      request.add("fields", fields);
      request.add("rows", rows);
    }
    return score(loaded, Convert.parse(request, inputSchema));
  }

  /** parse_qs's first `file` value (blank values are dropped, as in Python). */
  private static String fileParameter(String query) {
    if (query == null) return null;
    for (String pair : query.split("[&;]")) {
      int eq = pair.indexOf('=');
      if (eq < 0) continue;
      String key = URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8);
      String value = URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      if (key.equals("file") && !value.isEmpty()) return value;
    }
    return null;
  }

  private Response score(MojoScorer loaded, ScoreRequest request) throws Exception {
    int count = request.rowCount();
    List<String[]> predictions = new ArrayList<>(count);
    for (int r = 0; r < count; r++) {
      RowData row = new RowData();
      for (int c = 0; c < inputSchema.size(); c++) {
        Object value = request.columns()[c][r];
        if (value != null) row.put(inputSchema.get(c).name(), value);
      }
      predictions.add(loaded.predict(row));
    }
    StringWriter text = new StringWriter();
    try (JsonWriter out = new JsonWriter(text)) {
      out.setHtmlSafe(false);
      out.beginObject();
      out.name("id").value(modelId);
      out.name("score").beginArray();
      for (int r = 0; r < count; r++) {
        out.beginArray();
        if (request.ids() != null) out.value(request.ids().get(r));
        for (Map.Entry<String, List<String>> echoed : request.included()) out.value(echoed.getValue().get(r));
        for (String value : predictions.get(r)) out.value(value);
        out.endArray();
      }
      out.endArray();
      if (!request.noFieldNames()) {
        out.name("fields").beginArray();
        if (request.ids() != null) out.value(request.idField());
        for (Map.Entry<String, List<String>> echoed : request.included()) out.value(echoed.getKey());
        for (Column column : outputSchema) out.value(column.name());
        out.endArray();
      }
      out.endObject();
    }
    return new Response(200, JSON, bytes(text.toString()));
  }

  private static Response detail(int status, String message) {
    JsonObject answer = new JsonObject();
    answer.addProperty("detail", message);
    return new Response(status, JSON, bytes(answer.toString()));
  }

  private static JsonArray fieldsJson(List<Column> columns) {
    JsonArray array = new JsonArray();
    for (Column column : columns) {
      JsonObject field = new JsonObject();
      field.addProperty("name", column.name());
      field.addProperty("dataType", column.dataType());
      array.add(field);
    }
    return array;
  }

  private static JsonObject emptySample() {
    JsonObject sample = new JsonObject();
    sample.add("fields", new JsonArray());
    sample.add("rows", new JsonArray());
    return sample;
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
