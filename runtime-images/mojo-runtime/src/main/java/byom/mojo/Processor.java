package byom.mojo;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The `h2o3-mojo-processor` (docs/runtimes.md): checks that SOURCE_PATH is an H2O-3 MOJO this
 * runtime's h2o-genmodel reads and serves (by loading it), and writes TARGET_PATH/model/model.zip
 * plus the manifest. Exit 1 with one line on stderr when the artifact or settings are wrong, 2 on
 * a fault. Nothing from the MOJO is executed: genmodel reads data (trees, coefficients) only.
 */
public final class Processor {
  private Processor() {}

  static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    Refused(String message) {
      super(message, null, false, false);
    }
  }

  public static int run() {
    try {
      process(required("SOURCE_PATH"), required("TARGET_PATH"));
      return 0;
    } catch (Refused refused) {
      System.err.println(refused.getMessage());
      return 1;
    } catch (Exception fault) {
      System.err.println("h2o3-mojo-processor failed: " + oneLine(String.valueOf(fault)));
      return 2;
    }
  }

  private static Path required(String name) throws Refused {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) throw new Refused(name + " is not set");
    return Path.of(value);
  }

  static void process(Path source, Path target) throws Exception {
    if (!Files.isRegularFile(source)) {
      throw new Refused(source + " is not a file: SOURCE_PATH must be the MOJO zip that H2O-3 wrote (model.download_mojo())");
    }
    Map<String, String> info = readInfo(source);
    MojoScorer scorer;
    try {
      scorer = MojoScorer.load(source.toString());
    } catch (IOException | RuntimeException error) {
      throw new Refused("h2o-genmodel " + genmodelVersion() + " cannot read this MOJO (written by H2O-3 "
          + info.getOrDefault("h2o_version", "?") + ", MOJO format " + info.getOrDefault("mojo_version", "?") + "): "
          + oneLine(String.valueOf(error)) + ". Export it with an H2O-3 release this runtime reads (docs/runtimes.md) or register a custom runtime image.");
    }
    if (!scorer.served()) {
      throw new Refused("the MOJO is a " + scorer.category() + " model (" + info.getOrDefault("algorithm", "?")
          + "); the H2O-3 MOJO runtime serves " + MojoScorer.SERVED + " models. Register a custom runtime image for it.");
    }
    List<Column> inputs = inputSchema(scorer);
    List<Column> outputs = outputSchema(scorer);

    prepareTarget(target);
    Path modelDir = Files.createDirectories(target.resolve("model"));
    Path copy = modelDir.resolve("model.zip");
    Files.copy(source, copy);
    String sha256 = sha256(copy);

    JsonObject manifest = new JsonObject();
    manifest.addProperty("formatVersion", 1);
    String modelId = System.getenv("BYOM_MODEL_ID");
    if (modelId == null || modelId.isEmpty()) modelId = info.getOrDefault("uuid", sha256.substring(0, 32));
    manifest.addProperty("modelId", modelId);
    manifest.addProperty("sourceType", "h2o3/mojo");
    manifest.addProperty("framework", "h2o3");
    manifest.add("flavors", new JsonArray());
    manifest.addProperty("loader", "h2o-genmodel");
    manifest.addProperty("modelPath", "model/model.zip");
    manifest.addProperty("sha256", sha256);
    manifest.add("inputSchema", Manifest.schemaJson(inputs));
    manifest.add("outputSchema", Manifest.schemaJson(outputs));
    manifest.add("sampleRequest", sampleRequest(scorer, inputs));
    JsonObject h2o = new JsonObject();
    h2o.addProperty("h2oVersion", info.get("h2o_version"));
    h2o.addProperty("mojoVersion", info.get("mojo_version"));
    h2o.addProperty("algorithm", info.get("algorithm"));
    h2o.addProperty("category", scorer.category().toString());
    h2o.addProperty("genmodelVersion", genmodelVersion());
    manifest.add("h2o", h2o);
    Manifest.create(manifest).write(target);
  }

  /** The MOJO's own columns, or BYOM_INPUT_SCHEMA when the experiment declares types for them. */
  private static List<Column> inputSchema(MojoScorer scorer) throws Refused {
    List<Column> own = scorer.inputColumns();
    List<Column> declared = declared("BYOM_INPUT_SCHEMA");
    if (declared == null) return own;
    Map<String, Column> byName = new HashMap<>();
    for (Column column : own) byName.put(column.name(), column);
    Set<String> seen = new java.util.HashSet<>();
    for (Column column : declared) {
      Column mojo = byName.get(column.name());
      if (mojo == null) {
        throw new Refused("input_schema names '" + column.name() + "', which the MOJO does not read; its features are "
            + own.stream().map(Column::name).toList() + ". Fix input_schema (or remove it: ingestion writes the MOJO's own).");
      }
      boolean fits = mojo.type().equals("String") ? column.type().equals("String") : !column.type().equals("String");
      if (!fits) {
        throw new Refused("input_schema gives '" + column.name() + "' the type " + column.type() + ", but the MOJO reads it as "
            + (mojo.type().equals("String") ? "a categorical (String)" : "a number") + ". Fix input_schema.");
      }
      seen.add(column.name());
    }
    for (Column column : own) {
      if (!seen.contains(column.name())) {
        throw new Refused("input_schema lacks '" + column.name() + "', which the MOJO reads. Fix input_schema.");
      }
    }
    return declared;
  }

  /** The MOJO's outputs; names from BYOM_OUTPUT_SCHEMA when it declares as many columns. */
  private static List<Column> outputSchema(MojoScorer scorer) throws Refused {
    List<Column> own = scorer.outputColumns();
    List<Column> declared = declared("BYOM_OUTPUT_SCHEMA");
    if (declared == null || declared.size() != own.size()) return own;
    List<Column> named = new ArrayList<>();
    for (int i = 0; i < own.size(); i++) named.add(new Column(declared.get(i).name(), own.get(i).type()));
    return named;
  }

  private static List<Column> declared(String variable) throws Refused {
    String text = System.getenv(variable);
    if (text == null || text.isBlank()) return null;
    List<Column> columns = new ArrayList<>();
    try {
      for (JsonElement element : JsonParser.parseString(text).getAsJsonArray()) {
        JsonObject c = element.getAsJsonObject();
        String type = Column.canonical(c.get("type").getAsString());
        if (type == null) throw new IllegalArgumentException("unknown type " + c.get("type"));
        columns.add(new Column(c.get("name").getAsString(), type));
      }
    } catch (RuntimeException error) {
      throw new Refused(variable + " is not a schema [{\"name\", \"type\"}, ...]: " + oneLine(String.valueOf(error)));
    }
    return columns;
  }

  private static JsonObject sampleRequest(MojoScorer scorer, List<Column> inputs) {
    JsonObject sample = new JsonObject();
    JsonArray fields = new JsonArray();
    JsonArray row = new JsonArray();
    for (Column column : inputs) {
      fields.add(column.name());
      String[] levels = scorer.levels(column.name());
      if (levels != null && levels.length > 0) row.add(levels[0]);
      else if (column.type().equals("Boolean")) row.add("false");
      else if (column.type().equals("Time64")) row.add("2024-01-01T00:00:00Z");
      else row.add("0");
    }
    JsonArray rows = new JsonArray();
    rows.add(row);
    sample.add("fields", fields);
    sample.add("rows", rows);
    return sample;
  }

  /** model.ini's [info] section; refuses zips that are not MOJOs, naming what they are instead. */
  private static Map<String, String> readInfo(Path source) throws Refused, IOException {
    Map<String, String> info = new HashMap<>();
    try (ZipFile zip = new ZipFile(source.toFile())) {
      ZipEntry ini = zip.getEntry("model.ini");
      if (ini == null) {
        boolean pipeline = zip.stream().anyMatch(e -> e.getName().endsWith("pipeline.mojo"));
        throw new Refused(pipeline
            ? "this is a Driverless AI MOJO pipeline, not an H2O-3 MOJO: it needs H2O's licensed runtime; upload it as dai/mojo_pipeline (stored, not deployable)"
            : "the zip has no model.ini at its root: it is not an H2O-3 MOJO. Upload the zip that model.download_mojo() wrote, unchanged");
      }
      try (InputStream in = zip.getInputStream(ini);
          BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        boolean inInfo = false;
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
          String trimmed = line.strip();
          if (trimmed.startsWith("[")) inInfo = trimmed.equals("[info]");
          else if (inInfo && trimmed.contains("=")) {
            int eq = trimmed.indexOf('=');
            info.put(trimmed.substring(0, eq).strip(), trimmed.substring(eq + 1).strip());
          }
        }
      }
    } catch (java.util.zip.ZipException notZip) {
      throw new Refused("SOURCE_PATH is not a zip archive (" + oneLine(notZip.getMessage()) + "): upload the MOJO zip that H2O-3 wrote");
    }
    return info;
  }

  private static void prepareTarget(Path target) throws IOException, Refused {
    if (Files.exists(target)) {
      try (Stream<Path> children = Files.list(target)) {
        if (children.findAny().isPresent()) throw new Refused("TARGET_PATH " + target + " is not empty");
      }
    } else {
      Files.createDirectories(target);
    }
  }

  private static String sha256(Path file) throws Exception {
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buffer = new byte[1 << 16];
      for (int n = in.read(buffer); n > 0; n = in.read(buffer)) digest.update(buffer, 0, n);
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  static String genmodelVersion() {
    String version = hex.genmodel.MojoModel.class.getPackage().getImplementationVersion();
    return version != null ? version : "unknown";
  }

  static String oneLine(String text) {
    String line = text == null ? "" : text.replaceAll("\\s+", " ").strip();
    return line.length() > 300 ? line.substring(0, 300) : line;
  }
}
